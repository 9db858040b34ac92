// View types of the control plane's API, inferred from the AppRouter (no hand-written copies).
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@codepiper/control-plane/router";

export type Outputs = inferRouterOutputs<AppRouter>;
export type Inputs = inferRouterInputs<AppRouter>;
export type HostView = Outputs["hosts"]["list"][number];
export type SessionView = Outputs["sessions"]["list"][number];
