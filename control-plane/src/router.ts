import { authRouter } from "./auth/router.js";
import { eventsRouter } from "./events/router.js";
import { hostsRouter } from "./hosts/router.js";
import { linkRouter } from "./link/router.js";
import { sessionsRouter } from "./sessions/router.js";
import { router } from "./trpc.js";

export const appRouter = router({
  auth: authRouter,
  hosts: hostsRouter,
  events: eventsRouter,
  link: linkRouter,
  sessions: sessionsRouter,
});

export type AppRouter = typeof appRouter;
