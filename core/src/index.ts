export * from "./errors.js";
export * from "./protocol.js";
export * from "./limits.js";
export * from "./json.js";
export * from "./wire/host.js";
export * from "./wire/events.js";
export * from "./wire/commands.js";
export * from "./wire/link.js";
