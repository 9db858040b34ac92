"use client";
import Link from "next/link";
import { api } from "@/lib/trpc";
import { useLive } from "@/lib/hooks";
import { compactNumber } from "@/lib/format";
import type { HostView } from "@/lib/types";
import { useMe } from "@/components/Shell";
import { Empty, ErrorBox, PageTitle, Status, Time } from "@/components/ui";

function memory(h: HostView): string {
  if (!h.load || h.load.memTotalBytes === 0) return "—";
  const used = 1 - h.load.memFreeBytes / h.load.memTotalBytes;
  return `${Math.round(used * 100)}%`;
}

/** Fleet overview: every host, live (hosts.live yields the whole list on every change). */
export default function FleetPage() {
  const me = useMe();
  const hosts = useLive<HostView[]>((h) => api.hosts.live.subscribe(undefined, h), []);
  const list = hosts.data ?? [];
  const online = list.filter((h) => h.online).length;
  const sessions = list.reduce((n, h) => n + (h.sessions ?? 0), 0);
  return (
    <>
      <PageTitle actions={me.role === "admin" ? <Link className="button primary" href="/hosts/enroll/">Enroll a host</Link> : null}>Fleet</PageTitle>
      <div className="cards" aria-live="polite">
        <div className="card"><div className="label">Hosts online</div><div className="value" data-testid="hosts-online">{online} / {list.length}</div></div>
        <div className="card"><div className="label">Active sessions</div><div className="value">{sessions}</div></div>
      </div>
      <ErrorBox error={hosts.error ? `Live updates interrupted: ${hosts.error}` : null} />
      {hosts.data === undefined && !hosts.error ? <p className="muted">Loading hosts…</p> : null}
      {hosts.data && list.length === 0 ? (
        <Empty>No hosts yet. {me.role === "admin" ? <Link href="/hosts/enroll/">Enroll the first one.</Link> : "Ask an admin to enroll one."}</Empty>
      ) : null}
      {list.length > 0 ? (
        <div className="table-wrap">
          <table aria-label="Hosts">
            <thead>
              <tr>
                <th>Host</th><th>Status</th><th>Last seen</th><th className="hide-narrow">Version</th><th className="hide-narrow">Provider CLIs</th>
                <th className="num">Sessions</th><th className="num">Load</th><th className="num hide-narrow">Memory</th><th className="num hide-narrow">Outbox</th>
              </tr>
            </thead>
            <tbody>
              {list.map((h) => (
                <tr key={h.id} data-host={h.name}>
                  <td><Link href={`/sessions/?host=${encodeURIComponent(h.name)}`}>{h.name}</Link><div className="muted mono hide-narrow">{h.os ?? ""} {h.arch ?? ""}</div></td>
                  <td>{h.revoked ? <Status value="revoked" /> : <Status value={h.status} />}</td>
                  <td>{h.online ? <span>now</span> : <Time iso={h.lastSeenAt} />}</td>
                  <td className="hide-narrow mono">{h.version ?? "—"}</td>
                  <td className="hide-narrow">{h.providers.length ? h.providers.map((p) => <span key={p.id} className="tag">{p.id}{p.version ? ` ${p.version}` : ""}</span>) : <span className="muted">none</span>}</td>
                  <td className="num">{h.sessions ?? 0}</td>
                  <td className="num">{h.load ? h.load.loadAvg1.toFixed(2) : "—"}</td>
                  <td className="num hide-narrow">{memory(h)}</td>
                  <td className="num hide-narrow">{h.load ? compactNumber(h.load.outboxPending) : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
