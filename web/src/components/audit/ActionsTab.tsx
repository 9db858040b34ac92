"use client";
// audit.actions: newest first, filtered by actor (exact) and time on the server; "Load more"
// asks again for a longer list (the API has no cursor); the action filter narrows the loaded rows.
import { useMemo, useState, type FormEvent } from "react";
import { api } from "@/lib/trpc";
import { useQuery } from "@/lib/hooks";
import { useMe } from "@/components/Shell";
import { Empty, ErrorBox, Time } from "@/components/ui";
import { FieldError } from "@/components/forms/FieldError";

const PAGE = 100;
const MAX = 10_000;

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
  // A new object on every Filter press, so pressing it again also reloads.
  const [applied, setApplied] = useState<{ actor?: string; since?: string }>({});
  const [limit, setLimit] = useState(PAGE);
  const rows = useQuery(() => api.audit.actions.query({ ...applied, limit }), [applied, limit]);

  const sinceIso = since ? new Date(since) : null;
  const sinceErr = sinceIso && Number.isNaN(sinceIso.getTime()) ? "Not a valid date and time." : null;

  function apply(e: FormEvent) {
    e.preventDefault();
    if (sinceErr) return;
    setApplied({ actor: actor.trim() || undefined, since: sinceIso ? sinceIso.toISOString() : undefined });
    setLimit(PAGE);
  }

  const loaded = rows.data ?? [];
  const needle = action.trim().toLowerCase();
  const shown = needle ? loaded.filter((r) => r.action.toLowerCase().includes(needle)) : loaded;
  const more = loaded.length >= limit && limit < MAX;
  const label = (id: string | null) => (id ? names.get(id) ?? null : null);

  return (
    <>
      <form className="filters" onSubmit={apply} aria-label="Filter actions">
        <label>Actor
          <input value={actor} onChange={(e) => setActor(e.target.value)} list="audit-actors" placeholder="user:<id>, token:<id>, host:<id>" className="mono" spellCheck={false} />
        </label>
        <datalist id="audit-actors">
          {[...names.entries()].map(([id, n]) => <option key={id} value={id}>{n}</option>)}
        </datalist>
        <label>Action
          <input value={action} onChange={(e) => setAction(e.target.value)} placeholder="envset., users.create" spellCheck={false} />
        </label>
        <div className="field">
          <label>Since
            <input type="datetime-local" step={1} value={since} onChange={(e) => setSince(e.target.value)} aria-invalid={sinceErr ? true : undefined} aria-describedby={sinceErr ? "audit-since-err" : undefined} />
          </label>
          <FieldError id="audit-since-err" text={sinceErr} />
        </div>
        <button type="submit" className="primary">Filter</button>
        {applied.actor || applied.since || action ? (
          <button type="button" onClick={() => { setActor(""); setAction(""); setSince(""); setApplied({}); setLimit(PAGE); }}>Clear filters</button>
        ) : null}
      </form>
      <p className="hint">Actor matches exactly (as in the Actor column&apos;s id); Action narrows the loaded rows as you type; Since is your local time.</p>
      <ErrorBox error={rows.error} />
      {rows.loading && !rows.data ? <p className="muted">Loading actions…</p> : null}
      {rows.data && shown.length === 0 ? <Empty>No recorded actions{applied.actor || applied.since || needle ? " match these filters" : ""}.</Empty> : null}
      {shown.length > 0 ? (
        <div className="table-wrap" aria-busy={rows.loading}>
          <table aria-label="Actions">
            <thead><tr><th>Time</th><th>Actor</th><th>Action</th><th>Target</th><th className="hide-narrow">Source</th><th className="hide-narrow">Details</th></tr></thead>
            <tbody>
              {shown.map((r) => (
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
      <div className="button-row" style={{ marginTop: ".75rem" }}>
        <span className="muted" aria-live="polite">{rows.data ? `${loaded.length} newest loaded${needle ? `, ${shown.length} match the action filter` : ""}.` : ""}</span>
        {more ? <button type="button" onClick={() => setLimit((l) => Math.min(MAX, l + PAGE))} disabled={rows.loading}>{rows.loading ? "Loading…" : "Load more"}</button> : null}
      </div>
    </>
  );
}
