export * from "./wait.js";
export * from "./ports.js";
export * from "./tmp.js";
export * from "./cli.js";
export * from "./processes.js";
export * from "./fleet.js";
export { startPostgres, type StartedPostgres } from "./postgres.js";
