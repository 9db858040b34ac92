"use client";
import Link from "next/link";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { Suspense } from "react";
import { PROVIDER_IDS } from "@codepiper/core/wire/host";
import { SESSION_STATES } from "@codepiper/core/wire/sessions";
import { api } from "@/lib/trpc";
import { useLive, useQuery } from "@/lib/hooks";
import { compactNumber, shortId } from "@/lib/format";
import type { Inputs, SessionView } from "@/lib/types";
import { canOperate, useMe } from "@/components/Shell";
import { Empty, ErrorBox, PageTitle, Status, Time } from "@/components/ui";

type Filter = Inputs["sessions"]["live"];
type Provider = (typeof PROVIDER_IDS)[number];
type State = (typeof SESSION_STATES)[number];

/** The server's page size for sessions.list / sessions.live (its default). */
const LIMIT = 500;

function oneOf<T extends string>(values: readonly T[], value: string | null): T | undefined {
  return value !== null && (values as readonly string[]).includes(value) ? (value as T) : undefined;
}

function tokens(s: SessionView): number {
  return s.usage.inputTokens + s.usage.outputTokens + s.usage.cacheReadTokens + s.usage.cacheCreationTokens;
}

function tokenTitle(s: SessionView): string {
  const u = s.usage;
  return `${u.inputTokens.toLocaleString()} input, ${u.outputTokens.toLocaleString()} output, ${u.cacheReadTokens.toLocaleString()} cache read, ${u.cacheCreationTokens.toLocaleString()} cache write; ${u.responses.toLocaleString()} responses`;
}

/** Sessions across the fleet, live, filtered by host / provider / status (the filter lives in the URL). */
export default function SessionsPage() {
  return (
    <Suspense fallback={<><PageTitle>Sessions</PageTitle><p className="muted">Loading…</p></>}>
      <Sessions />
    </Suspense>
  );
}

function Sessions() {
  const me = useMe();
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname() ?? "/sessions/";
  const host = params.get("host")?.trim() || undefined;
  const provider = oneOf<Provider>(PROVIDER_IDS, params.get("provider"));
  const status = oneOf<State>(SESSION_STATES, params.get("status"));
  const badParams = [
    params.get("provider") && !provider ? `provider "${params.get("provider")}"` : null,
    params.get("status") && !status ? `status "${params.get("status")}"` : null,
  ].filter(Boolean);

  const hosts = useQuery(() => api.hosts.list.query(), []);
  const filter: Filter = { host, provider, status };
  const sessions = useLive<SessionView[]>((h) => api.sessions.live.subscribe(filter, h), [host, provider, status]);

  function setFilter(name: "host" | "provider" | "status", value: string) {
    const next = new URLSearchParams(params.toString());
    if (value) next.set(name, value);
    else next.delete(name);
    const qs = next.toString();
    router.replace(qs ? `${pathname}?${qs}` : pathname, { scroll: false });
  }

  const hostNames = (hosts.data ?? []).map((h) => h.name);
  if (host && !hostNames.includes(host)) hostNames.unshift(host);
  const filtered = Boolean(host || provider || status);
  const list = sessions.data ?? [];
  const newHref = host ? `/sessions/new/?host=${encodeURIComponent(host)}` : "/sessions/new/";

  return (
    <>
      <PageTitle actions={canOperate(me) ? <Link className="button primary" href={newHref}>New session</Link> : null}>Sessions</PageTitle>
      <div className="toolbar" role="search" aria-label="Filter sessions">
        <label>
          Host
          <select value={host ?? ""} onChange={(e) => setFilter("host", e.target.value)}>
            <option value="">All hosts</option>
            {hostNames.map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        </label>
        <label>
          Provider
          <select value={provider ?? ""} onChange={(e) => setFilter("provider", e.target.value)}>
            <option value="">All providers</option>
            {PROVIDER_IDS.map((p) => <option key={p} value={p}>{p}</option>)}
          </select>
        </label>
        <label>
          Status
          <select value={status ?? ""} onChange={(e) => setFilter("status", e.target.value)}>
            <option value="">All statuses</option>
            {SESSION_STATES.map((s) => <option key={s} value={s}>{s.replace(/_/g, " ")}</option>)}
          </select>
        </label>
        {filtered ? <button type="button" onClick={() => router.replace(pathname, { scroll: false })}>Clear filters</button> : null}
        <span className="spacer" />
        {sessions.data ? (
          <span className="muted" aria-live="polite" data-testid="sessions-count">
            {list.length === LIMIT ? `newest ${LIMIT} sessions shown` : `${list.length} ${list.length === 1 ? "session" : "sessions"}`}
          </span>
        ) : null}
      </div>
      {badParams.length ? <p className="notice">Ignored an unknown {badParams.join(" and ")} in the address.</p> : null}
      <ErrorBox error={hosts.error ? `Could not load the host list: ${hosts.error}` : null} />
      <ErrorBox error={sessions.error ? (sessions.data ? `Live updates interrupted: ${sessions.error}` : sessions.error) : null} />
      {sessions.data === undefined && !sessions.error ? <p className="muted" aria-busy="true">Loading sessions…</p> : null}
      {sessions.data && list.length === 0 ? (
        filtered ? (
          <Empty>No sessions match these filters. <button type="button" className="small" onClick={() => router.replace(pathname, { scroll: false })}>Clear filters</button></Empty>
        ) : (
          <Empty>No sessions yet. {canOperate(me) ? <Link href="/sessions/new/">Start the first one.</Link> : "An operator can start one."}</Empty>
        )
      ) : null}
      {list.length > 0 ? (
        <div className="table-wrap">
          <table aria-label="Sessions">
            <thead>
              <tr>
                <th>Session</th>
                <th>Host</th>
                <th>Provider</th>
                <th>Status</th>
                <th className="hide-narrow">Model</th>
                <th className="hide-narrow">Directory</th>
                <th>Started</th>
                <th className="num hide-narrow">Tokens</th>
              </tr>
            </thead>
            <tbody>
              {list.map((s) => (
                <tr key={s.id} data-session={s.id}>
                  <td>
                    <Link href={`/session/?id=${encodeURIComponent(s.id)}`}>{s.name ?? <span className="mono">{shortId(s.id)}</span>}</Link>
                    {s.name ? <div className="muted mono hide-narrow">{shortId(s.id)}</div> : null}
                    {s.dangerous ? <div><span className="tag" title="Started in dangerous mode: tool calls skip the provider's prompts and the fleet's policies">dangerous</span></div> : null}
                  </td>
                  <td><Link href={`/sessions/?host=${encodeURIComponent(s.hostName)}`} title={`Only sessions on ${s.hostName}`}>{s.hostName}</Link></td>
                  <td>{s.provider}</td>
                  <td>
                    <Status value={s.status} />
                    {s.status === "crashed" && s.error ? <div className="muted" style={{ fontSize: ".85rem" }}>{s.error}</div> : null}
                  </td>
                  <td className="hide-narrow mono">{s.model ?? <span className="muted">default</span>}</td>
                  <td className="hide-narrow mono" style={{ wordBreak: "break-all" }}>
                    {s.cwd}
                    {s.worktree ? <div className="muted">worktree, branch {s.worktree.branch}</div> : null}
                  </td>
                  <td><Time iso={s.createdAt} /></td>
                  <td className="num hide-narrow" title={tokenTitle(s)}>{tokens(s) > 0 ? compactNumber(tokens(s)) : <span className="muted">—</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
