/**
 * Estimated list prices, USD per million tokens, by model family. An ESTIMATE for the dashboard:
 * it ignores batch and long-context tiers, regional pricing, Claude's 1-hour cache writes (priced
 * here as 5-minute writes) and subscription billing (a `subscription` session costs nothing
 * extra, yet is priced here as if it were API traffic). Update the table when list prices move;
 * the first pattern that matches a model id wins, so specific families come before general ones.
 *
 * Token kinds follow core/src/transcripts/types.ts: `input` is the uncached part of the prompt,
 * `cacheRead` the part served from the cache, `cacheWrite` the part written to it. OpenAI does
 * not bill cache writes separately, so its cacheWrite price is its input price.
 */
export interface Price {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

interface PriceRow {
  family: string;
  pattern: RegExp;
  price: Price;
}

const claude = (input: number, output: number): Price => ({ input, output, cacheRead: input / 10, cacheWrite: input * 1.25 });
const openai = (input: number, output: number, cacheRead: number): Price => ({ input, output, cacheRead, cacheWrite: input });

/** Checked in order. Prices as published by Anthropic and OpenAI in late 2025. */
export const PRICE_TABLE: readonly PriceRow[] = [
  // Claude: Opus 4.5 and later are cheaper than Opus 4 / 4.1 and Claude 3 Opus.
  { family: "claude-opus-4.5+", pattern: /opus-4-(?:[5-9]|\d\d)(?:\b|-|$)|opus-(?:[5-9])/i, price: claude(5, 25) },
  { family: "claude-opus", pattern: /opus/i, price: claude(15, 75) },
  { family: "claude-sonnet", pattern: /sonnet/i, price: claude(3, 15) },
  { family: "claude-haiku-3.5", pattern: /3-5-haiku|haiku-3-5/i, price: claude(0.8, 4) },
  { family: "claude-haiku-3", pattern: /3-haiku|haiku-3(?:\b|-|$)/i, price: claude(0.25, 1.25) },
  { family: "claude-haiku", pattern: /haiku/i, price: claude(1, 5) },
  // OpenAI GPT-5 family (Codex's default models included: gpt-5-codex, gpt-5.1-codex…).
  { family: "gpt-5-nano", pattern: /^gpt-5(?:\.\d+)?-nano/i, price: openai(0.05, 0.4, 0.005) },
  { family: "gpt-5-mini", pattern: /^gpt-5(?:\.\d+)?(?:-codex)?-mini/i, price: openai(0.25, 2, 0.025) },
  { family: "gpt-5", pattern: /^gpt-5/i, price: openai(1.25, 10, 0.125) },
  // OpenAI o-series reasoning models.
  { family: "o4-mini", pattern: /^o4-mini/i, price: openai(1.1, 4.4, 0.275) },
  { family: "o3-mini", pattern: /^o3-mini/i, price: openai(1.1, 4.4, 0.55) },
  { family: "o3", pattern: /^o3/i, price: openai(2, 8, 0.5) },
  { family: "o1-mini", pattern: /^o1-mini/i, price: openai(1.1, 4.4, 0.55) },
  { family: "o1", pattern: /^o1/i, price: openai(15, 60, 7.5) },
];

/** The price row for a model id, or null (unknown models cost 0 and are reported `priced: false`). */
export function priceOf(model: string): { family: string; price: Price } | null {
  const row = PRICE_TABLE.find((r) => r.pattern.test(model));
  return row ? { family: row.family, price: row.price } : null;
}

export interface TokenCounts {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
}

/** Estimated cost in USD of `tokens` on `model`; 0 for a model not in the table. */
export function costUsd(model: string, tokens: TokenCounts): number {
  const p = priceOf(model)?.price;
  if (!p) return 0;
  return (tokens.inputTokens * p.input + tokens.outputTokens * p.output + tokens.cacheReadTokens * p.cacheRead + tokens.cacheCreationTokens * p.cacheWrite) / 1_000_000;
}
