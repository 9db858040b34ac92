"use client";
// audit.actions: newest first, filtered on the server by actor (exact), action (exact, or a prefix
// ending in `.*`) and time. "Load more" asks for the next page, older than the last row shown (the
// API's `beforeId` cursor); a page shorter than the page size is the last one.
import { useMemo, useState, type FormEvent } from "react";
import { api } from "@/lib/trpc";
import { useQuery } from "@/lib/hooks";
import { useMe } from "@/components/Shell";
import { Empty, ErrorBox, Time } from "@/components/ui";
import { FieldError } from "@/components/forms/FieldError";
import { LoadMore, useCursorPages } from "./paging";

const PAGE = 100;
/** The server's rule for the action filter: an action, or a prefix ending in `.*`. */
const ACTION_FILTER = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*(\.\*)?$/;

function details(d: unknown): string {
  if (d === null || d === undefined) return "";
  try {
    return JSON.stringify(d);
  } catch {
    return String(d);
  }
}

/** Names for actor/target ids (admins see users and tokens; everyone sees hosts). */
function useNames(admin: boolean, email: string) {
  const web = useQuery(() => api.auth.webSessions.list.query(), []);
  const hosts = useQuery(() => api.hosts.list.query(), []);
  const users = useQuery(() => (admin ? api.users.list.query() : Promise.resolve([])), [admin]);
  const tokens = useQuery(() => (admin ? api.tokens.list.query({ all: true, includeInactive: true }) : Promise.resolve([])), [admin]);
  return useMemo(() => {
    const m = new Map<string, string>();
    for (const h of hosts.data ?? []) m.set(`host:${h.id}`, `host ${h.name}`);
    for (const u of users.data ?? []) m.set(`user:${u.id}`, u.email);
    for (const t of tokens.data ?? []) m.set(`token:${t.id}`, `${t.user} (token ${t.name})`);
    for (const w of web.data ?? []) m.set(`web:${w.id}`, `${email} (dashboard${w.current ? ", this browser" : ""})`);
    return m;
  }, [hosts.data, users.data, tokens.data, web.data, email]);
}

export function ActionsTab() {
  const me = useMe();
  const names = useNames(me.role === "admin", me.email);
  const [actor, setActor] = useState("");
  const [action, setAction] = useState("");
  const [since, setSince] = useState("");
  const [tried, setTried] = useState(false);
  // A new object on every Filter press, so pressing it again also reloads.
  const [applied, setApplied] = useState<{ actor?: string; action?: string; since?: string }>({});
  const rows = useCursorPages((beforeId) => api.audit.actions.query({ ...applied, beforeId, limit: PAGE }), [applied], PAGE);

  const sinceIso = since ? new Date(since) : null;
  const sinceErr = sinceIso && Number.isNaN(sinceIso.getTime()) ? "Not a valid date and time." : null;
  const actionValue = action.trim().toLowerCase();
  const actionErr = actionValue && (actionValue.length > 100 || !ACTION_FILTER.test(actionValue)) ? "Use an action like envset.create, or a prefix ending in .* like envset.*" : null;

  function apply(e: FormEvent) {
    e.preventDefault();
    setTried(true);
    if (sinceErr || actionErr) return;
    setApplied({ actor: actor.trim() || undefined, action: actionValue || undefined, since: sinceIso ? sinceIso.toISOString() : undefined });
  }

  function clear() {
    setActor("");
    setAction("");
    setSince("");
    setTried(false);
    setApplied({});
  }

  const list = rows.rows ?? [];
  const filtered = Boolean(applied.actor || applied.action || applied.since);
  const label = (id: string | null) => (id ? names.get(id) ?? null : null);
  const shownActionErr = tried ? actionErr : null;

  return (
    <>
      <form className="filters" onSubmit={apply} aria-label="Filter actions">
        <label>Actor
          <input value={actor} onChange={(e) => setActor(e.target.value)} list="audit-actors" placeholder="user:<id>, token:<id>, host:<id>" className="mono" spellCheck={false} />
        </label>
        <datalist id="audit-actors">
          {[...names.entries()].map(([id, n]) => <option key={id} value={id}>{n}</option>)}
        </datalist>
        <div className="field">
          <label>Action
            <input
              value={action}
              onChange={(e) => setAction(e.target.value)}
              placeholder="envset.create or envset.*"
              className="mono"
              spellCheck={false}
              autoCapitalize="none"
              aria-invalid={shownActionErr ? true : undefined}
              aria-describedby={shownActionErr ? "audit-action-hint audit-action-err" : "audit-action-hint"}
            />
          </label>
          <FieldError id="audit-action-err" text={shownActionErr} />
        </div>
        <div className="field">
          <label>Since
            <input type="datetime-local" step={1} value={since} onChange={(e) => setSince(e.target.value)} aria-invalid={sinceErr ? true : undefined} aria-describedby={sinceErr ? "audit-since-err" : undefined} />
          </label>
          <FieldError id="audit-since-err" text={sinceErr} />
        </div>
        <button type="submit" className="primary">Filter</button>
        {filtered || actor || action || since ? <button type="button" onClick={clear}>Clear filters</button> : null}
      </form>
      <p className="hint">
        Actor matches exactly (as in the Actor column&apos;s id); <span id="audit-action-hint">Action is an exact action (envset.create) or a prefix like envset.*</span>; Since is your local time.
      </p>
      <ErrorBox error={rows.error} />
      {rows.loading && !rows.rows ? <p className="muted">Loading actions…</p> : null}
      {rows.rows && list.length === 0 ? <Empty>No recorded actions{filtered ? " match these filters" : ""}.</Empty> : null}
      {list.length > 0 ? (
        <div className="table-wrap" aria-busy={rows.loading || rows.loadingMore}>
          <table aria-label="Actions">
            <thead><tr><th>Time</th><th>Actor</th><th>Action</th><th>Target</th><th className="hide-narrow">Source</th><th className="hide-narrow">Details</th></tr></thead>
            <tbody>
              {list.map((r) => (
                <tr key={r.id}>
                  <td style={{ whiteSpace: "nowrap" }}><Time iso={r.at} /></td>
                  <td>{label(r.actor) ? <>{label(r.actor)}<div className="muted mono">{r.actor}</div></> : <span className="mono">{r.actor}</span>}</td>
                  <td className="mono">{r.action}</td>
                  <td>{r.target ? (label(r.target) ? <>{label(r.target)}<div className="muted mono">{r.target}</div></> : <span className="mono" style={{ wordBreak: "break-all" }}>{r.target}</span>) : <span className="muted">—</span>}</td>
                  <td className="hide-narrow mono">{r.source ?? <span className="muted">—</span>}</td>
                  <td className="hide-narrow mono"><div className="cell-clip" title={details(r.details)}>{details(r.details) || <span className="muted">—</span>}</div></td>
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
