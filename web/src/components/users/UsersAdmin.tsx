"use client";
// Admins: every user, with role changes, disable/enable, delete, and a form for new users.
import { useId, useState, type FormEvent } from "react";
import { api } from "@/lib/trpc";
import { useAction, useQuery } from "@/lib/hooks";
import type { Inputs, Outputs } from "@/lib/types";
import { useMe } from "@/components/Shell";
import { ConfirmButton, Empty, ErrorBox, Status, Time } from "@/components/ui";
import { FieldError } from "@/components/forms/FieldError";

type Role = Inputs["users"]["create"]["role"];
type UserView = Outputs["users"]["list"][number];
export const ROLES: Role[] = ["viewer", "operator", "admin"];
const PASSWORD_MIN = 10;

export function UsersAdmin() {
  const me = useMe();
  const users = useQuery(() => api.users.list.query(), []);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const update = useAction((input: Inputs["users"]["update"]) => api.users.update.mutate(input));
  const del = useAction((id: string) => api.users.delete.mutate({ user: id }));

  async function change(u: UserView, patch: { role?: Role; disabled?: boolean }, done: string) {
    setNotice(null);
    setBusy(u.id);
    const r = await update.run({ user: u.id, ...patch });
    setBusy(null);
    if (r) {
      // Your own role changed: the whole dashboard must learn it (the menu, every page's checks).
      if (u.id === me.userId && patch.role !== undefined) {
        window.location.reload();
        return;
      }
      setNotice(done);
      users.reload();
    }
  }
  async function remove(u: UserView) {
    setNotice(null);
    setBusy(u.id);
    const r = await del.run(u.id);
    setBusy(null);
    if (r) {
      setNotice(`Deleted user ${r.email}.`);
      users.reload();
    }
  }

  const list = users.data ?? [];
  return (
    <section aria-labelledby="users-title">
      <h2 id="users-title">Users</h2>
      {notice ? <p className="notice" role="status">{notice}</p> : null}
      <ErrorBox error={users.error} />
      <ErrorBox error={update.error ?? del.error} />
      {users.loading && !users.data ? <p className="muted">Loading users…</p> : null}
      {users.data && list.length === 0 ? <Empty>No users.</Empty> : null}
      {list.length > 0 ? (
        <div className="table-wrap">
          <table aria-label="Users">
            <thead>
              <tr><th>Email</th><th>Role</th><th>Status</th><th className="hide-narrow">Two-factor</th><th className="num hide-narrow">Tokens</th><th className="hide-narrow">Created</th><th>Actions</th></tr>
            </thead>
            <tbody>
              {list.map((u) => {
                const self = u.id === me.userId;
                return (
                  <tr key={u.id} data-user={u.email}>
                    <td>{u.email}{self ? <span className="muted"> (you)</span> : null}</td>
                    <td>
                      <label>
                        <span className="visually-hidden">Role of {u.email}</span>
                        <select value={u.role} disabled={busy === u.id} onChange={(e) => void change(u, { role: e.target.value as Role }, `${u.email} is now ${e.target.value}.`)}>
                          {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
                        </select>
                      </label>
                    </td>
                    <td>{u.disabled ? <Status value="revoked" label="disabled" /> : <Status value="active" />}</td>
                    <td className="hide-narrow">{u.totp ? "on" : <span className="muted">off</span>}</td>
                    <td className="num hide-narrow">{u.tokens}</td>
                    <td className="hide-narrow"><Time iso={u.createdAt} /></td>
                    <td>
                      <span className="actions-inline">
                        {u.disabled ? (
                          <button type="button" className="small" disabled={busy === u.id} onClick={() => void change(u, { disabled: false }, `Enabled ${u.email}.`)} aria-label={`Enable ${u.email}`}>Enable</button>
                        ) : (
                          <ConfirmButton className="small" question={`Disable ${u.email}? Their dashboard sessions end now and their tokens stop working.`} disabled={self || busy === u.id} onConfirm={() => void change(u, { disabled: true }, `Disabled ${u.email}.`)}>Disable</ConfirmButton>
                        )}
                        <ConfirmButton className="danger small" question={`Delete ${u.email} and their tokens?`} disabled={self || busy === u.id} onConfirm={() => void remove(u)}>Delete</ConfirmButton>
                      </span>
                      {self ? <div className="hint">You cannot disable or delete yourself.</div> : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      <NewUser onDone={(m) => { setNotice(m); users.reload(); }} />
    </section>
  );
}

function NewUser({ onDone }: { onDone: (message: string) => void }) {
  const uid = useId();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [submitted, setSubmitted] = useState(false);
  const create = useAction(() => api.users.create.mutate({ email: email.trim(), password, role }));
  const emailErr = submitted || email !== "" ? (email.trim() === "" ? "Enter an email address." : /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim()) ? null : "This is not an email address.") : null;
  const passwordErr = submitted || password !== "" ? (password.length < PASSWORD_MIN ? `At least ${PASSWORD_MIN} characters.` : password.length > 1024 ? "At most 1024 characters." : null) : null;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setSubmitted(true);
    if (emailErr || passwordErr || email.trim() === "" || password.length < PASSWORD_MIN) return;
    const r = await create.run();
    if (!r) return;
    setEmail(""); setPassword(""); setRole("viewer"); setSubmitted(false);
    onDone(`Created ${r.email} (${r.role}). Give them the password over a safe channel; they can change nothing else until they log in.`);
  }

  return (
    <div className="panel" style={{ marginTop: "1rem" }}>
      <form className="form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${uid}-t`}>
        <h3 id={`${uid}-t`} style={{ margin: 0 }}>New user</h3>
        <div className="row">
          <div className="field">
            <label>Email<input type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="off" aria-invalid={emailErr ? true : undefined} aria-describedby={emailErr ? `${uid}-e` : undefined} /></label>
            <FieldError id={`${uid}-e`} text={emailErr} />
          </div>
          <div className="field">
            <label>Password<input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" aria-invalid={passwordErr ? true : undefined} aria-describedby={passwordErr ? `${uid}-p` : undefined} /></label>
            <FieldError id={`${uid}-p`} text={passwordErr} />
          </div>
          <div className="field">
            <label>Role<select value={role} onChange={(e) => setRole(e.target.value as Role)}>{ROLES.map((r) => <option key={r} value={r}>{r}</option>)}</select></label>
          </div>
        </div>
        <ErrorBox error={create.error} />
        <div><button className="primary" type="submit" disabled={create.pending}>{create.pending ? "Creating…" : "Create user"}</button></div>
      </form>
    </div>
  );
}
