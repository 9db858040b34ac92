import { analyticsRouter } from "./analytics/router.js";
import { authRouter } from "./auth/router.js";
import { tokensRouter } from "./auth/tokens-router.js";
import { usersRouter } from "./auth/users-router.js";
import { envSetsRouter, keysRouter } from "./envsets/router.js";
import { eventsRouter } from "./events/router.js";
import { hostsRouter } from "./hosts/router.js";
import { linkRouter } from "./link/router.js";
import { sessionsRouter } from "./sessions/router.js";
import { approvalsRouter } from "./approvals/router.js";
import { auditRouter } from "./audit/router.js";
import { policiesRouter, policySetsRouter } from "./policies/router.js";
import { router } from "./trpc.js";
import { workspacesRouter } from "./workspaces/router.js";

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
  users: usersRouter,
  tokens: tokensRouter,
  workspaces: workspacesRouter,
  envSets: envSetsRouter,
  keys: keysRouter,
  analytics: analyticsRouter,
});

export type AppRouter = typeof appRouter;
