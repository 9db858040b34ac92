export * from "./types.js";
export * from "./glob.js";
export * from "./engine.js";
