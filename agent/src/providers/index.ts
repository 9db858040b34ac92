import type { ProviderId } from "@codepiper/core";
import type { ProviderAdapter } from "./types.js";
import { claudeAdapter } from "./claude.js";
import { codexAdapter } from "./codex.js";

export type * from "./types.js";

/** The adapter for a provider; the switch is exhaustive so a new ProviderId fails to compile here. */
export function adapterFor(id: ProviderId): ProviderAdapter {
  switch (id) {
    case "claude-code":
      return claudeAdapter;
    case "codex":
      return codexAdapter;
    default: {
      const never: never = id;
      throw new Error(`unknown provider ${String(never)}`);
    }
  }
}

export const PROVIDER_ADAPTERS: Readonly<Record<ProviderId, ProviderAdapter>> = {
  "claude-code": claudeAdapter,
  codex: codexAdapter,
};
