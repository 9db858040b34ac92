"use client";
// The master key behind env sets and TOTP secrets: its versions, how many records each wraps, and rotation.
import { useState } from "react";
import { api } from "@/lib/trpc";
import { useAction, useQuery } from "@/lib/hooks";
import type { Outputs } from "@/lib/types";
import { ConfirmButton, ErrorBox } from "@/components/ui";

type Rotation = Outputs["keys"]["rotate"];

export function KeyStatus() {
  const status = useQuery(() => api.keys.status.query(), []);
  const [result, setResult] = useState<Rotation | null>(null);
  const rotate = useAction(() => api.keys.rotate.mutate());
  const s = status.data;
  const versions = s ? [...new Set([...s.versions.map(String), ...Object.keys(s.envSets), ...Object.keys(s.totpSecrets)])].sort((a, b) => Number(b) - Number(a)) : [];
  const behind = s ? Object.entries(s.envSets).concat(Object.entries(s.totpSecrets)).filter(([v, n]) => v !== String(s.currentVersion) && n > 0).reduce((n, [, c]) => n + c, 0) : 0;

  async function run() {
    setResult(null);
    const r = await rotate.run();
    if (r) {
      setResult(r);
      status.reload();
    }
  }

  return (
    <section className="panel" aria-labelledby="master-key-title">
      <h2 id="master-key-title" style={{ marginTop: 0 }}>Master key</h2>
      <ErrorBox error={status.error} />
      {!s && status.loading ? <p className="muted">Loading key status…</p> : null}
      {s ? (
        <>
          <p>
            Current version <strong data-testid="master-key-version">{s.currentVersion}</strong>
            <span className="muted"> · versions available: {s.versions.join(", ") || "none"}</span>
          </p>
          <div className="table-wrap keyver-table">
            <table aria-label="Records by master key version">
              <thead><tr><th>Key version</th><th className="num">Env sets</th><th className="num">TOTP secrets</th></tr></thead>
              <tbody>
                {versions.map((v) => (
                  <tr key={v}>
                    <td>{v}{v === String(s.currentVersion) ? <span className="muted"> (current)</span> : null}</td>
                    <td className="num">{s.envSets[v] ?? 0}</td>
                    <td className="num">{s.totpSecrets[v] ?? 0}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {behind > 0 ? <p className="warning">{behind} record{behind === 1 ? " is" : "s are"} still wrapped by an older key version. Rotating re-wraps them.</p> : null}
        </>
      ) : null}
      <p className="hint">Rotation adds a master key version and re-wraps every data key under it; values are not re-encrypted and nothing stops meanwhile. With CODEPIPER_MASTER_KEY, add the new version there and restart first; rotating then re-wraps what is still on older versions.</p>
      <ConfirmButton className="danger" question="Rotate the master key now?" onConfirm={() => void run()} disabled={rotate.pending}>{rotate.pending ? "Rotating…" : "Rotate master key"}</ConfirmButton>
      <ErrorBox error={rotate.error} />
      {result ? (
        <div className="notice" role="status" data-testid="rotation-result">
          <p style={{ margin: 0 }}>
            {result.rotated ? `Rotated: key version ${result.previousVersion} → ${result.currentVersion}.` : `No new version added (still ${result.currentVersion}); records on older versions were re-wrapped.`}{" "}
            Env sets: {result.envSets.rewrapped} re-wrapped, {result.envSets.alreadyCurrent} already current, {result.envSets.failed} failed. TOTP secrets: {result.totpSecrets.rewrapped} re-wrapped, {result.totpSecrets.alreadyCurrent} already current, {result.totpSecrets.failed} failed.
          </p>
          {[...result.envSets.failures, ...result.totpSecrets.failures].length ? (
            <ul>{[...result.envSets.failures, ...result.totpSecrets.failures].map((f) => <li key={f}>{f}</li>)}</ul>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
