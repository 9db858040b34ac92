import { authRouter } from "./auth/router.js";
import { eventsRouter } from "./events/router.js";
import { hostsRouter } from "./hosts/router.js";
import { linkRouter } from "./link/router.js";
import { sessionsRouter } from "./sessions/router.js";
import { approvalsRouter } from "./approvals/router.js";
import { auditRouter } from "./audit/router.js";
import { policiesRouter, policySetsRouter } from "./policies/router.js";
import { router } from "./trpc.js";

export const appRouter = router({
  auth: authRouter,
  hosts: hostsRouter,
  events: eventsRouter,
  link: linkRouter,
  sessions: sessionsRouter,
  policies: policiesRouter,
  policySets: policySetsRouter,
  approvals: approvalsRouter,
  audit: auditRouter,
});

export type AppRouter = typeof appRouter;
