export { main, buildProgram } from "./main.js";
export { EXIT, exitCodeOf } from "./exit-codes.js";
export { exitWhenFlushed } from "./exit.js";
