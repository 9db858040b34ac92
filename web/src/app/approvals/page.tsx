"use client";
import Link from "next/link";
import { useEffect, useMemo, useRef, useState } from "react";
import { api, appCodeOf, messageOf } from "@/lib/trpc";
import { useAction, useQuery } from "@/lib/hooks";
import { noteApproval, useApprovals, type ApprovalView } from "@/lib/approvals";
import { shortId } from "@/lib/format";
import { canOperate, useMe } from "@/components/Shell";
import { Empty, ErrorBox, PageTitle, Status, Time } from "@/components/ui";
import "./approvals.css";

/** How many decided requests "Recent decisions" keeps on screen. */
const RECENT_MAX = 100;

function ruleText(a: ApprovalView): string {
  if (!a.policyName) return "the default action (no rule matched)";
  return a.ruleIndex === null ? `policy ${a.policyName}` : `policy ${a.policyName}, rule ${a.ruleIndex}`;
}

function prettyArgs(args: unknown): string {
  if (args === undefined || args === null) return "(none)";
  if (typeof args === "object" && !Array.isArray(args) && Object.keys(args).length === 0) return "(none)";
  return JSON.stringify(args, null, 2) ?? String(args);
}

function argsLine(args: unknown, max = 80): string {
  let text: string;
  if (args && typeof args === "object" && !Array.isArray(args)) {
    text = Object.entries(args as Record<string, unknown>)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
  } else text = JSON.stringify(args) ?? "";
  text = text.replace(/\s+/g, " ");
  if (!text) return "—";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function decidedByText(a: ApprovalView): string {
  if (a.decidedBy === "timeout") return "nobody (expired)";
  if (a.decidedBy === "host") return "the host (the agent stopped waiting)";
  return a.decidedBy ?? "—";
}

function announcementOf(list: ApprovalView[]): string {
  return list.map((a) => `New approval request: ${a.tool} on ${a.hostName}.`).join(" ");
}

/**
 * The approvals inbox, live: requests a policy answered `ask` wait here for an operator; the first
 * answer wins. Pending requests and decisions arrive through approvals.follow (shared with the nav
 * badge); decisions made before the page opened come from one approvals.list read.
 */
export default function ApprovalsPage() {
  const me = useMe();
  const operate = canOperate(me);
  const live = useApprovals();
  const history = useQuery(() => api.approvals.list.query({ limit: RECENT_MAX }), []);
  const [conflicts, setConflicts] = useState<Record<string, string>>({});

  // New arrivals: anything pending the page had not seen when it opened. Requests already waiting
  // when the page opens stream in during its first moments and are not announced unless young.
  const mountedAt = useRef(Date.now());
  const known = useRef<Set<string> | null>(null);
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const [announcement, setAnnouncement] = useState("");
  useEffect(() => {
    if (known.current === null) {
      known.current = new Set(live.approvals.map((a) => a.id));
      return;
    }
    const seen = known.current;
    const arrived: ApprovalView[] = [];
    for (const a of live.approvals) {
      if (seen.has(a.id)) continue;
      seen.add(a.id);
      if (a.status !== "pending") continue;
      const late = Date.now() - mountedAt.current > 2000;
      const young = Date.parse(a.createdAt) >= mountedAt.current - 10_000;
      if (late || young) arrived.push(a);
    }
    if (arrived.length === 0) return;
    setFresh((prev) => new Set([...prev, ...arrived.map((a) => a.id)]));
    setAnnouncement(announcementOf([...arrived].reverse()));
  }, [live.approvals]);

  const { pending, recent } = useMemo(() => {
    const all = new Map<string, ApprovalView>();
    // Older decisions from the one-shot read; the live view wins for anything it has seen.
    for (const a of history.data ?? []) if (a.status !== "pending") all.set(a.id, a);
    for (const a of live.approvals) all.set(a.id, a);
    const list = [...all.values()];
    return {
      pending: list.filter((a) => a.status === "pending").sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1)),
      recent: list
        .filter((a) => a.status !== "pending")
        .sort((a, b) => ((a.decidedAt ?? a.createdAt) < (b.decidedAt ?? b.createdAt) ? 1 : -1))
        .slice(0, RECENT_MAX),
    };
  }, [history.data, live.approvals]);

  function onConflict(id: string, message: string) {
    setConflicts((prev) => ({ ...prev, [id]: message }));
  }

  return (
    <>
      <PageTitle>Approvals</PageTitle>
      <p className="hint">
        Tool calls a policy answered <strong>ask</strong> wait here for a person. The first answer wins; a request nobody answers expires and the agent falls back to its own prompt.
      </p>
      <div role="status" aria-live="polite" data-testid="approval-arrivals">{announcement ? <p className="notice">{announcement}</p> : null}</div>
      <ErrorBox error={live.error ? `Live updates interrupted: ${live.error}. Reconnecting…` : null} />

      <div className="toolbar" style={{ marginBottom: ".5rem" }}>
        <h2 style={{ margin: 0 }}>Pending</h2>
        <span className={pending.length > 0 ? "badge" : "tag"} data-testid="pending-count">{pending.length} waiting</span>
      </div>
      {!operate ? <p className="notice">You can watch requests here; operators and admins answer them.</p> : null}
      {pending.length === 0 ? (
        history.loading && live.approvals.length === 0 ? <p className="muted">Loading requests…</p> : <Empty>No request is waiting. New ones appear here by themselves.</Empty>
      ) : (
        <div className="approval-list">
          {pending.map((a) => (
            <ApprovalCard key={a.id} a={a} operate={operate} fresh={fresh.has(a.id)} conflict={conflicts[a.id] ?? null} onConflict={onConflict} />
          ))}
        </div>
      )}

      <h2>Recent decisions</h2>
      <ErrorBox error={history.error ? `Older decisions could not be loaded: ${history.error}` : null} />
      {recent.length === 0 ? (
        history.loading ? <p className="muted">Loading decisions…</p> : <Empty>No decisions yet.</Empty>
      ) : (
        <div className="table-wrap">
          <table aria-label="Recent decisions">
            <thead>
              <tr>
                <th>Decided</th><th>Outcome</th><th>Tool</th><th className="hide-narrow">Arguments</th><th>Host</th><th className="hide-narrow">Session</th>
                <th className="hide-narrow">Asked by</th><th>Decided by</th><th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {recent.map((a) => (
                <tr key={a.id} data-approval={a.id}>
                  <td><Time iso={a.decidedAt ?? a.expiresAt} /></td>
                  <td><Status value={a.status} /></td>
                  <td className="mono">{a.tool}</td>
                  <td className="hide-narrow mono" title={prettyArgs(a.args)}>{argsLine(a.args)}</td>
                  <td>{a.hostName}</td>
                  <td className="hide-narrow mono"><Link href={`/session/?id=${encodeURIComponent(a.sessionId)}`}>{shortId(a.sessionId)}</Link></td>
                  <td className="hide-narrow">{ruleText(a)}</td>
                  <td>{decidedByText(a)}</td>
                  <td>
                    {a.decisionReason ?? <span className="muted">—</span>}
                    {conflicts[a.id] ? <p className="warning" role="alert">Your answer was not recorded: {conflicts[a.id]}</p> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function ApprovalCard({ a, operate, fresh, conflict, onConflict }: { a: ApprovalView; operate: boolean; fresh: boolean; conflict: string | null; onConflict: (id: string, message: string) => void }) {
  const [reason, setReason] = useState("");
  const decide = useAction(async (decision: "allow" | "deny") => {
    try {
      return await api.approvals.decide.mutate({ id: a.id, decision, reason: reason.trim() || undefined });
    } catch (err) {
      if (appCodeOf(err) === "CODEPIPER_CONFLICT") {
        // Someone (or the timeout) answered first: keep their message and show the request as it is now.
        onConflict(a.id, messageOf(err));
        api.approvals.get.query({ id: a.id }).then(noteApproval, () => undefined);
      }
      throw err;
    }
  });
  async function answer(decision: "allow" | "deny") {
    const view = await decide.run(decision);
    if (view) noteApproval(view);
  }
  const expired = Date.parse(a.expiresAt) <= Date.now();
  const reasonId = `reason-${a.id}`;
  return (
    <article className={`approval${fresh ? " fresh" : ""}`} aria-label={`Approval request: ${a.tool} on ${a.hostName}`} data-approval={a.id}>
      <header>
        <h3>{a.tool}</h3>
        <span>on <strong>{a.hostName}</strong></span>
        <span>session <Link className="mono" href={`/session/?id=${encodeURIComponent(a.sessionId)}`}>{shortId(a.sessionId)}</Link></span>
        {fresh ? <span className="tag">new</span> : null}
        <span className="spacer" style={{ flex: 1 }} />
        <span className="muted">asked <Time iso={a.createdAt} /></span>
        <span className="muted">{expired ? <Status value="expired" label="expiring" /> : <>expires <Time iso={a.expiresAt} /></>}</span>
      </header>
      <dl>
        <dt>Arguments</dt>
        <dd><pre className="args mono" tabIndex={0} aria-label={`Arguments of ${a.tool}`}>{prettyArgs(a.args)}</pre></dd>
        <dt>Working directory</dt>
        <dd className="mono">{a.cwd ?? <span className="muted">unknown</span>}</dd>
        <dt>Asked by</dt>
        <dd>{ruleText(a)}{a.reason ? <> — <em>{a.reason}</em></> : null}</dd>
      </dl>
      {operate ? (
        <div className="answer">
          <label htmlFor={reasonId}>
            Reason
            <input id={reasonId} value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} placeholder="optional: shown to the agent and in the audit log" />
          </label>
          <button type="button" className="primary" disabled={decide.pending} onClick={() => void answer("allow")}>Allow</button>
          <button type="button" className="danger" disabled={decide.pending} onClick={() => void answer("deny")}>Deny</button>
        </div>
      ) : null}
      <ErrorBox error={conflict ?? decide.error} />
    </article>
  );
}
