"use client";
// audit.decisions: every policy decision hosts made, newest first, filtered by decision and session.
// "Load more" asks for the next page, older than the last row shown (the API's `beforeId` cursor).
import Link from "next/link";
import { useMemo, useState, type FormEvent } from "react";
import { api } from "@/lib/trpc";
import { useQuery } from "@/lib/hooks";
import type { Inputs } from "@/lib/types";
import { Empty, ErrorBox, Status, Time } from "@/components/ui";
import { LoadMore, useCursorPages } from "./paging";

type Decision = NonNullable<Inputs["audit"]["decisions"]["decision"]>;
const DECISIONS: Decision[] = ["allow", "deny", "ask"];
const PAGE = 100;

export function DecisionsTab() {
  const hosts = useQuery(() => api.hosts.list.query(), []);
  const hostNames = useMemo(() => new Map((hosts.data ?? []).map((h) => [h.id, h.name])), [hosts.data]);
  const [decision, setDecision] = useState<Decision | "">("");
  const [session, setSession] = useState("");
  const [applied, setApplied] = useState<{ decision?: Decision; session?: string }>({});
  const rows = useCursorPages((beforeId) => api.audit.decisions.query({ ...applied, beforeId, limit: PAGE }), [applied], PAGE); // a new object per Filter press

  function apply(e: FormEvent) {
    e.preventDefault();
    setApplied({ decision: decision || undefined, session: session.trim() || undefined });
  }

  const list = rows.rows ?? [];
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
        {applied.decision || applied.session ? <button type="button" onClick={() => { setDecision(""); setSession(""); setApplied({}); }}>Clear filters</button> : null}
      </form>
      <ErrorBox error={rows.error} />
      {rows.loading && !rows.rows ? <p className="muted">Loading policy decisions…</p> : null}
      {rows.rows && list.length === 0 ? <Empty>No recorded policy decisions{applied.decision || applied.session ? " match these filters" : ""}.</Empty> : null}
      {list.length > 0 ? (
        <div className="table-wrap" aria-busy={rows.loading || rows.loadingMore}>
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
      <LoadMore pages={rows} shown={list.length} />
    </>
  );
}
