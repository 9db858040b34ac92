"use client";
import { useState } from "react";
import { api } from "@/lib/trpc";
import { useLive } from "@/lib/hooks";
import { compactNumber, usd } from "@/lib/format";
import type { Outputs } from "@/lib/types";
import { BarChart, ColumnChart } from "@/components/charts";
import { Empty, ErrorBox, PageTitle } from "@/components/ui";

type Range = "today" | "7d" | "30d";
type Summary = Outputs["analytics"]["summary"];
const RANGES: { value: Range; label: string }[] = [
  { value: "today", label: "Today" },
  { value: "7d", label: "7 days" },
  { value: "30d", label: "30 days" },
];

/**
 * Usage analytics, live: analytics.live sends the summary at once and again (at most every 5 s)
 * when sessions or their usage change.
 */
export default function AnalyticsPage() {
  const [range, setRange] = useState<Range>("7d");
  const summary = useLive<Summary>((h) => api.analytics.live.subscribe({ range }, h), [range]);
  const s = summary.data;
  const tick = (iso: string) => (s?.bucket === "hour" ? new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }) : new Date(iso).toLocaleDateString(undefined, { month: "short", day: "numeric" }));
  return (
    <>
      <PageTitle
        actions={
          <div role="radiogroup" aria-label="Range" className="toolbar" style={{ margin: 0 }}>
            {RANGES.map((r) => (
              <button key={r.value} role="radio" aria-checked={range === r.value} className={range === r.value ? "primary" : ""} onClick={() => setRange(r.value)}>{r.label}</button>
            ))}
          </div>
        }
      >
        Analytics
      </PageTitle>
      <ErrorBox error={summary.error} />
      {s ? <Report s={s} tick={tick} /> : summary.error ? null : <p className="muted">Loading…</p>}
    </>
  );
}

function Report({ s, tick }: { s: Summary; tick: (iso: string) => string }) {
  const buckets = s.series.map((p) => p.at);
  const unpriced = s.tokensByModel.filter((m) => !m.priced).map((m) => m.model);
  return (
    <>
      <p className="hint">{new Date(s.from).toLocaleString()} – {new Date(s.to).toLocaleString()} (buckets by {s.bucket}, UTC)</p>
      <div className="cards" data-testid="analytics-totals">
        <div className="card"><div className="label">Input tokens</div><div className="value">{compactNumber(s.totals.inputTokens)}</div></div>
        <div className="card"><div className="label">Output tokens</div><div className="value">{compactNumber(s.totals.outputTokens)}</div></div>
        <div className="card"><div className="label">Cache read</div><div className="value">{compactNumber(s.totals.cacheReadTokens)}</div></div>
        <div className="card"><div className="label">Estimated cost</div><div className="value">{usd(s.totals.costUsd)}</div></div>
        <div className="card"><div className="label">Sessions started</div><div className="value">{s.totals.sessions}</div></div>
        <div className="card"><div className="label">Tool calls</div><div className="value">{s.totals.toolCalls}</div></div>
      </div>
      <div className="grid-2">
        <section className="panel" aria-labelledby="h-activity">
          <h2 id="h-activity" style={{ marginTop: 0 }}>Tokens over time</h2>
          <ColumnChart label="Tokens over time" buckets={buckets} tickLabel={tick} series={[{ name: "input", values: s.series.map((p) => p.inputTokens) }, { name: "output", values: s.series.map((p) => p.outputTokens) }]} />
        </section>
        <section className="panel" aria-labelledby="h-sessions">
          <h2 id="h-sessions" style={{ marginTop: 0 }}>Sessions and tool calls over time</h2>
          <ColumnChart label="Sessions started and tool calls over time" buckets={buckets} tickLabel={tick} series={[{ name: "sessions started", values: s.series.map((p) => p.sessionsStarted) }, { name: "tool calls", values: s.series.map((p) => p.toolCalls) }]} />
        </section>
        <section className="panel" aria-labelledby="h-cost">
          <h2 id="h-cost" style={{ marginTop: 0 }}>Estimated cost over time</h2>
          <ColumnChart label="Estimated cost over time" buckets={buckets} tickLabel={tick} format={usd} series={[{ name: "cost", values: s.series.map((p) => p.costUsd) }]} />
        </section>
        <section className="panel" aria-labelledby="h-tools">
          <h2 id="h-tools" style={{ marginTop: 0 }}>Tool usage</h2>
          {s.toolUsage.length ? <BarChart label="Tool calls by tool" partLabel="denied" bars={s.toolUsage.slice(0, 12).map((t) => ({ label: t.tool, value: t.count, part: t.denied }))} /> : <Empty>No tool calls in this range.</Empty>}
          {s.toolUsage.some((t) => t.denied) ? <p className="hint">Red: calls denied by a policy or a person.</p> : null}
        </section>
      </div>
      <section className="panel" aria-labelledby="h-models">
        <h2 id="h-models" style={{ marginTop: 0 }}>Tokens by model</h2>
        {s.tokensByModel.length ? (
          <>
            <BarChart label="Tokens by model" bars={s.tokensByModel.map((m) => ({ label: m.model, value: m.inputTokens + m.outputTokens }))} />
            <div className="table-wrap" style={{ marginTop: "1rem" }}>
              <table aria-label="Tokens by model">
                <thead><tr><th>Model</th><th className="num">Input</th><th className="num">Output</th><th className="num">Cache read</th><th className="num">Cache write</th><th className="num">Estimated cost</th></tr></thead>
                <tbody>
                  {s.tokensByModel.map((m) => (
                    <tr key={m.model}>
                      <td className="mono">{m.model}</td>
                      <td className="num">{m.inputTokens.toLocaleString()}</td>
                      <td className="num">{m.outputTokens.toLocaleString()}</td>
                      <td className="num">{m.cacheReadTokens.toLocaleString()}</td>
                      <td className="num">{m.cacheCreationTokens.toLocaleString()}</td>
                      <td className="num">{m.priced ? usd(m.costUsd) : <span className="muted">no price</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {unpriced.length ? <p className="hint">No list price known for {unpriced.join(", ")}: counted as $0.</p> : null}
            <p className="hint">Costs are estimates from public list prices per million tokens; your invoice is the reference.</p>
          </>
        ) : <Empty>No model usage in this range.</Empty>}
      </section>
    </>
  );
}
