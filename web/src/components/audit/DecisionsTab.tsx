"use client";
// audit.decisions: every policy decision hosts made, newest first, filtered by decision and session.
import Link from "next/link";
import { useMemo, useState, type FormEvent } from "react";
import { api } from "@/lib/trpc";
import { useQuery } from "@/lib/hooks";
import type { Inputs } from "@/lib/types";
import { Empty, ErrorBox, Status, Time } from "@/components/ui";

type Decision = NonNullable<Inputs["audit"]["decisions"]["decision"]>;
const DECISIONS: Decision[] = ["allow", "deny", "ask"];
const PAGE = 100;
const MAX = 10_000;

export function DecisionsTab() {
  const hosts = useQuery(() => api.hosts.list.query(), []);
  const hostNames = useMemo(() => new Map((hosts.data ?? []).map((h) => [h.id, h.name])), [hosts.data]);
  const [decision, setDecision] = useState<Decision | "">("");
  const [session, setSession] = useState("");
  const [applied, setApplied] = useState<{ decision?: Decision; session?: string }>({});
  const [limit, setLimit] = useState(PAGE);
  const rows = useQuery(() => api.audit.decisions.query({ ...applied, limit }), [applied, limit]); // a new object per Filter press

  function apply(e: FormEvent) {
    e.preventDefault();
    setApplied({ decision: decision || undefined, session: session.trim() || undefined });
    setLimit(PAGE);
  }

  const list = rows.data ?? [];
  const more = list.length >= limit && limit < MAX;
  return (
    <>
      <form className="filters" onSubmit={apply} aria-label="Filter policy decisions">
        <label>Decision
          <select value={decision} onChange={(e) => setDecision(e.target.value as Decision | "")}>
            <option value="">Any</option>
            {DECISIONS.map((d) => <option key={d} value={d}>{d}</option>)}
          </select>
        </label>
        <label>Session
          <input value={session} onChange={(e) => setSession(e.target.value)} placeholder="session id or prefix" className="mono" spellCheck={false} />
        </label>
        <button type="submit" className="primary">Filter</button>
        {applied.decision || applied.session ? <button type="button" onClick={() => { setDecision(""); setSession(""); setApplied({}); setLimit(PAGE); }}>Clear filters</button> : null}
      </form>
      <ErrorBox error={rows.error} />
      {rows.loading && !rows.data ? <p className="muted">Loading policy decisions…</p> : null}
      {rows.data && list.length === 0 ? <Empty>No recorded policy decisions{applied.decision || applied.session ? " match these filters" : ""}.</Empty> : null}
      {list.length > 0 ? (
        <div className="table-wrap" aria-busy={rows.loading}>
          <table aria-label="Policy decisions">
            <thead><tr><th>Time</th><th>Decision</th><th>Tool</th><th className="hide-narrow">Arguments</th><th>Session</th><th className="hide-narrow">Decided by</th><th className="hide-narrow">Policy</th><th className="hide-narrow">Host</th></tr></thead>
            <tbody>
              {list.map((r) => (
                <tr key={r.id}>
                  <td style={{ whiteSpace: "nowrap" }}><Time iso={r.at} /></td>
                  <td><Status value={r.decision} />{r.outcome ? <div className="muted">→ {r.outcome}</div> : null}</td>
                  <td className="mono">{r.tool}</td>
                  <td className="hide-narrow mono"><div className="cell-clip" title={r.args}>{r.args || <span className="muted">—</span>}</div></td>
                  <td className="mono">{r.sessionId ? <Link href={`/session/?id=${encodeURIComponent(r.sessionId)}`}>{r.sessionId.slice(0, 8)}</Link> : <span className="muted">—</span>}</td>
                  <td className="hide-narrow">{r.decider}</td>
                  <td className="hide-narrow">{r.policyName ? `${r.policyName}${r.ruleIndex !== null ? `[${r.ruleIndex}]` : ""}` : <span className="muted">default</span>}</td>
                  <td className="hide-narrow">{hostNames.get(r.hostId) ?? <span className="mono">{r.hostId.slice(0, 8)}</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <div className="button-row" style={{ marginTop: ".75rem" }}>
        <span className="muted" aria-live="polite">{rows.data ? `${list.length} newest loaded.` : ""}</span>
        {more ? <button type="button" onClick={() => setLimit((l) => Math.min(MAX, l + PAGE))} disabled={rows.loading}>{rows.loading ? "Loading…" : "Load more"}</button> : null}
      </div>
    </>
  );
}
