import { z } from "zod";
import { topics } from "../bus/bus.js";
import { liveQuery } from "../bus/live.js";
import { router, viewerProcedure } from "../trpc.js";
import { ANALYTICS_RANGES, analyticsSummary, analyticsSummarySchema } from "./summary.js";

/** Fleet-wide usage for the dashboard and `codepiper analytics`. */
export const analyticsRouter = router({
  /** Tokens, estimated cost (prices.ts), sessions and tool calls over a UTC range (summary.ts). */
  summary: viewerProcedure
    .input(z.object({ range: z.enum(ANALYTICS_RANGES) }))
    .output(analyticsSummarySchema)
    .query(({ ctx, input }) => analyticsSummary(ctx.services, input.range)),

  /**
   * `summary`, live: at once, then again when sessions or usage change — at most every 5 s, since
   * a summary is a few dozen grouped queries and a busy fleet changes all the time.
   */
  live: viewerProcedure.input(z.object({ range: z.enum(ANALYTICS_RANGES) })).subscription(async function* ({ ctx, input, signal }) {
    yield* liveQuery(ctx.services.bus, { prompt: [], throttled: [topics.sessions], throttleMs: ANALYTICS_LIVE_THROTTLE_MS, signal }, () => analyticsSummary(ctx.services, input.range));
  }),
});

/** How often analytics.live re-reads at most. */
export const ANALYTICS_LIVE_THROTTLE_MS = 5_000;
