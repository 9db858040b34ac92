export * from "./types.js";
export * from "./claude.js";
export * from "./codex.js";
export * from "./parser.js";
export * from "./snapshot.js";
