export { startControlPlane, type ControlPlane } from "./app.js";
export { appRouter, type AppRouter } from "./router.js";
export { parseServerConfig, listenSchema, type ServerConfig } from "./config.js";
export { openDatabase, type Database, type Db } from "./db/index.js";
export { createUser, emailSchema, passwordSchema } from "./auth/users.js";
export { createLogger, type Logger } from "./log.js";
export { VERSION } from "./http/server.js";
