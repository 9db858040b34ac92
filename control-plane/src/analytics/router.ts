import { z } from "zod";
import { router, viewerProcedure } from "../trpc.js";
import { ANALYTICS_RANGES, analyticsSummary, analyticsSummarySchema } from "./summary.js";

/** Fleet-wide usage for the dashboard and `codepiper analytics`. */
export const analyticsRouter = router({
  /** Tokens, estimated cost (prices.ts), sessions and tool calls over a UTC range (summary.ts). */
  summary: viewerProcedure
    .input(z.object({ range: z.enum(ANALYTICS_RANGES) }))
    .output(analyticsSummarySchema)
    .query(({ ctx, input }) => analyticsSummary(ctx.services, input.range)),
});
