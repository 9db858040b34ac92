"use client";
// API tokens: your own (admins may show everyone's), create one (the secret is shown once), revoke.
import { useId, useState, type FormEvent } from "react";
import { api } from "@/lib/trpc";
import { useAction, useQuery } from "@/lib/hooks";
import type { Inputs, Outputs } from "@/lib/types";
import { useMe } from "@/components/Shell";
import { ConfirmButton, CopyButton, Empty, ErrorBox, Status, Time } from "@/components/ui";
import { FieldError } from "@/components/forms/FieldError";

type Role = NonNullable<Inputs["tokens"]["create"]["role"]>;
type Created = Outputs["tokens"]["create"];
const ROLES: Role[] = ["viewer", "operator", "admin"];

export function Tokens() {
  const me = useMe();
  const admin = me.role === "admin";
  const [all, setAll] = useState(false);
  const [inactive, setInactive] = useState(false);
  const tokens = useQuery(() => api.tokens.list.query({ all: admin && all, includeInactive: inactive }), [admin && all, inactive]);
  const [notice, setNotice] = useState<string | null>(null);
  const [created, setCreated] = useState<Created | null>(null);
  const revoke = useAction((id: string) => api.tokens.revoke.mutate({ id }));
  const list = tokens.data ?? [];

  async function doRevoke(id: string) {
    setNotice(null);
    const r = await revoke.run(id);
    if (r) {
      setNotice(`Revoked token ${r.name}.`);
      tokens.reload();
    }
  }

  return (
    <section aria-labelledby="tokens-title">
      <h2 id="tokens-title">API tokens</h2>
      <p className="hint">Tokens let the CLI and scripts call the control plane as you. A token never has more than your role.</p>
      <div className="filters">
        {admin ? <label className="check"><input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} />Show everyone&apos;s</label> : null}
        <label className="check"><input type="checkbox" checked={inactive} onChange={(e) => setInactive(e.target.checked)} />Include revoked and expired</label>
      </div>
      {notice ? <p className="notice" role="status">{notice}</p> : null}
      <ErrorBox error={tokens.error} />
      <ErrorBox error={revoke.error} />
      {tokens.loading && !tokens.data ? <p className="muted">Loading tokens…</p> : null}
      {tokens.data && list.length === 0 ? <Empty>No {inactive ? "" : "active "}tokens{all ? "" : " of yours"}.</Empty> : null}
      {list.length > 0 ? (
        <div className="table-wrap">
          <table aria-label="API tokens">
            <thead>
              <tr><th>Name</th>{all ? <th>User</th> : null}<th>Role</th><th>Status</th><th className="hide-narrow">Created</th><th>Expires</th><th className="hide-narrow">Last used</th><th>Actions</th></tr>
            </thead>
            <tbody>
              {list.map((t) => (
                <tr key={t.id} data-token={t.name}>
                  <td>{t.name}{t.current ? <span className="muted"> (this token)</span> : null}<div className="muted mono hide-narrow">{t.id.slice(0, 8)}</div></td>
                  {all ? <td>{t.user}</td> : null}
                  <td>{t.role}</td>
                  <td><Status value={t.status} /></td>
                  <td className="hide-narrow"><Time iso={t.createdAt} /></td>
                  <td>{t.expiresAt ? <Time iso={t.expiresAt} /> : <span className="muted">never</span>}</td>
                  <td className="hide-narrow"><Time iso={t.lastUsedAt} /></td>
                  <td>
                    {t.status === "active" ? (
                      <ConfirmButton className="danger small" question={`Revoke token ${t.name}?${t.current ? " This is the token of this connection." : ""}`} disabled={revoke.pending} onConfirm={() => void doRevoke(t.id)}>Revoke</ConfirmButton>
                    ) : <span className="muted">—</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {created ? (
        <div className="panel" style={{ marginTop: "1rem" }} data-testid="new-token">
          <h3 style={{ marginTop: 0 }}>New token: {created.name}</h3>
          <p className="warning"><strong>Copy this token now: it is shown only now, never again.</strong> Role {created.role}, expires {new Date(created.expiresAt).toLocaleString()}.</p>
          <pre className="secret" aria-label="New API token">{created.token}</pre>
          <p className="button-row" style={{ marginTop: ".5rem" }}>
            <CopyButton text={created.token} label="Copy token" />
            <button type="button" className="small" onClick={() => setCreated(null)}>Done, hide it</button>
          </p>
        </div>
      ) : null}
      <NewToken maxRole={me.role} onCreated={(c) => { setNotice(null); setCreated(c); tokens.reload(); }} />
    </section>
  );
}

function NewToken({ maxRole, onCreated }: { maxRole: Role; onCreated: (c: Created) => void }) {
  const uid = useId();
  const allowed = ROLES.slice(0, ROLES.indexOf(maxRole) + 1);
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>(maxRole);
  const [days, setDays] = useState("90");
  const [submitted, setSubmitted] = useState(false);
  const create = useAction(() => api.tokens.create.mutate({ name: name.trim(), role, ttlMs: Math.round(Number(days)) * 86_400_000 }));
  const nameErr = submitted && name.trim() === "" ? "Enter a name, e.g. where the token will be used." : name.trim().length > 100 ? "At most 100 characters." : null;
  const n = Number(days);
  const daysErr = days.trim() === "" || !Number.isInteger(n) || n < 1 || n > 3650 ? "A whole number of days from 1 to 3650." : null;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setSubmitted(true);
    if (name.trim() === "" || nameErr || daysErr) return;
    const r = await create.run();
    if (!r) return;
    setName(""); setSubmitted(false);
    onCreated(r);
  }

  return (
    <div className="panel" style={{ marginTop: "1rem" }}>
      <form className="form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${uid}-t`}>
        <h3 id={`${uid}-t`} style={{ margin: 0 }}>New token</h3>
        <div className="row">
          <div className="field">
            <label>Token name<input value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" placeholder="ci-deploy" aria-invalid={nameErr ? true : undefined} aria-describedby={nameErr ? `${uid}-n` : undefined} /></label>
            <FieldError id={`${uid}-n`} text={nameErr} />
          </div>
          <div className="field">
            <label>Role<select value={role} onChange={(e) => setRole(e.target.value as Role)}>{allowed.map((r) => <option key={r} value={r}>{r}</option>)}</select></label>
          </div>
          <div className="field">
            <label>Expires in days<input type="number" inputMode="numeric" min={1} max={3650} step={1} value={days} onChange={(e) => setDays(e.target.value)} aria-invalid={daysErr ? true : undefined} aria-describedby={daysErr ? `${uid}-d` : undefined} /></label>
            <FieldError id={`${uid}-d`} text={daysErr} />
          </div>
        </div>
        <ErrorBox error={create.error} />
        <div><button className="primary" type="submit" disabled={create.pending}>{create.pending ? "Creating…" : "Create token"}</button></div>
      </form>
    </div>
  );
}
