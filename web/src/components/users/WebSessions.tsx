"use client";
// The logged-in user's own dashboard sessions (browsers with a login cookie), with revoke.
import { useState } from "react";
import { api, closeLiveConnection } from "@/lib/trpc";
import { useAction, useQuery } from "@/lib/hooks";
import { ConfirmButton, Empty, ErrorBox, Time } from "@/components/ui";

export function WebSessions() {
  const sessions = useQuery(() => api.auth.webSessions.list.query(), []);
  const revoke = useAction((id: string) => api.auth.webSessions.revoke.mutate({ id }));
  const [notice, setNotice] = useState<string | null>(null);
  const list = sessions.data ?? [];

  async function doRevoke(id: string, current: boolean) {
    setNotice(null);
    const r = await revoke.run(id);
    if (!r) return;
    if (current) {
      closeLiveConnection();
      window.location.assign("/login/");
      return;
    }
    setNotice("Session revoked: that browser is logged out.");
    sessions.reload();
  }

  return (
    <section aria-labelledby="websessions-title">
      <h2 id="websessions-title">Dashboard sessions</h2>
      <p className="hint">Browsers logged in to this dashboard as you.</p>
      {notice ? <p className="notice" role="status">{notice}</p> : null}
      <ErrorBox error={sessions.error} />
      <ErrorBox error={revoke.error} />
      {sessions.loading && !sessions.data ? <p className="muted">Loading sessions…</p> : null}
      {sessions.data && list.length === 0 ? <Empty>No dashboard sessions (you are using an API token).</Empty> : null}
      {list.length > 0 ? (
        <div className="table-wrap">
          <table aria-label="Dashboard sessions">
            <thead><tr><th>Started</th><th>Last used</th><th className="hide-narrow">Expires</th><th>From</th><th>Actions</th></tr></thead>
            <tbody>
              {list.map((w) => (
                <tr key={w.id}>
                  <td><Time iso={w.createdAt} />{w.current ? <span className="tag" style={{ marginLeft: ".4rem" }}>this browser</span> : null}</td>
                  <td><Time iso={w.lastUsedAt} /></td>
                  <td className="hide-narrow"><Time iso={w.expiresAt} /></td>
                  <td className="mono">{w.source ?? <span className="muted">unknown</span>}</td>
                  <td>
                    <ConfirmButton className="danger small" question={w.current ? "Revoke this browser's session? You will be logged out." : "Revoke this session?"} disabled={revoke.pending} onConfirm={() => void doRevoke(w.id, w.current)}>Revoke</ConfirmButton>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
