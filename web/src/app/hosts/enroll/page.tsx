"use client";
import Link from "next/link";
import { useEffect, useRef, useState } from "react";
import { api } from "@/lib/trpc";
import { useAction, useLive } from "@/lib/hooks";
import type { HostView } from "@/lib/types";
import { useMe } from "@/components/Shell";
import { CopyButton, ErrorBox, PageTitle, Status } from "@/components/ui";

const TTLS = [
  { label: "15 minutes", ms: 15 * 60_000 },
  { label: "1 hour", ms: 3_600_000 },
  { label: "24 hours", ms: 86_400_000 },
];

/** Enroll a host: a one-time join token, the exact commands for the new machine, then the host arriving live. */
export default function EnrollPage() {
  const me = useMe();
  const [name, setName] = useState("");
  const [ttl, setTtl] = useState(TTLS[0]!.ms);
  const [stateDir, setStateDir] = useState("/var/lib/codepiper-agent");
  const [token, setToken] = useState<{ token: string; expiresAt: string } | null>(null);
  const create = useAction((ttlMs: number) => api.hosts.createJoinToken.mutate({ ttlMs }));
  const hosts = useLive<HostView[]>((h) => api.hosts.live.subscribe(undefined, h), []);
  const known = useRef<Set<string> | null>(null);
  if (hosts.data && known.current === null) known.current = new Set(hosts.data.map((h) => h.id));
  const arrived = token && hosts.data && known.current ? hosts.data.filter((h) => !known.current!.has(h.id)) : [];

  useEffect(() => setToken(null), [ttl]);

  if (me.role !== "admin") return <><PageTitle>Enroll a host</PageTitle><p className="error">Only admins can enroll hosts.</p></>;

  const origin = typeof window === "undefined" ? "" : window.location.origin;
  const hostName = name.trim() || "<name>";
  const commands = token
    ? `codepiper agent join ${origin} --token ${token.token} --name ${hostName} --state-dir ${stateDir}\ncodepiper agent run --state-dir ${stateDir}`
    : "";

  return (
    <>
      <PageTitle>Enroll a host</PageTitle>
      <div className="panel">
        <form className="form" onSubmit={(e) => { e.preventDefault(); void create.run(ttl).then((t) => t && setToken(t)); }}>
          <div className="row">
            <label>Host name<input value={name} onChange={(e) => setName(e.target.value)} placeholder="build-07" pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,62}" title="letters, digits, dot, dash and underscore; up to 63 characters" /></label>
            <label>Token valid for<select value={ttl} onChange={(e) => setTtl(Number(e.target.value))}>{TTLS.map((t) => <option key={t.ms} value={t.ms}>{t.label}</option>)}</select></label>
            <label>State directory on the host<input value={stateDir} onChange={(e) => setStateDir(e.target.value)} /></label>
          </div>
          <ErrorBox error={create.error} />
          <div><button className="primary" type="submit" disabled={create.pending}>{token ? "Create another token" : "Create join token"}</button></div>
        </form>
      </div>
      {token ? (
        <div className="panel">
          <h2 style={{ marginTop: 0 }}>Run on the new host</h2>
          <p className="hint">The token works once and expires {new Date(token.expiresAt).toLocaleString()}. The host generates its keys itself; they never leave it. The host needs the <code>codepiper</code> CLI, tmux and the provider CLIs it should run; to keep the agent running after you log out, install <code>infra/systemd/codepiper-agent.service</code> instead of the second command (or use <code>infra/ssh/bootstrap-host.sh</code>, which does both over SSH).</p>
          <pre className="secret" aria-label="Commands to run on the new host" data-testid="enroll-commands">{commands}</pre>
          <p style={{ marginTop: ".5rem" }}><CopyButton text={commands} label="Copy commands" /></p>
          <h2>Waiting for the host</h2>
          <div aria-live="polite">
            {arrived.length === 0 ? <p className="muted">No new host yet: this updates by itself when it links.</p> : null}
            {arrived.map((h) => (
              <p key={h.id} className="notice" data-testid="host-arrived">
                <strong>{h.name}</strong> enrolled — <Status value={h.status} /> {h.version ? `agent ${h.version}` : ""}. <Link href="/">See the fleet</Link>
              </p>
            ))}
          </div>
        </div>
      ) : null}
      <ErrorBox error={hosts.error} />
    </>
  );
}
