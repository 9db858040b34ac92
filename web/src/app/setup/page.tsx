"use client";
import { useState, type FormEvent } from "react";
import { api, messageOf } from "@/lib/trpc";
import { ErrorBox } from "@/components/ui";

/**
 * First run: the one-time setup token printed by `codepiper server` creates the first admin, who
 * is then logged in here. The API token that auth.setup issues for the CLI is revoked at once:
 * the dashboard uses its cookie session, and no unused credential is left behind.
 */
export default function SetupPage() {
  const [token, setToken] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (password !== confirm) return setError("The two passwords differ.");
    setPending(true);
    setError(null);
    try {
      const created = await api.auth.setup.mutate({ token: token.trim(), email, password, tokenName: "dashboard-setup" });
      const res = await fetch("/auth/login-browser", { method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }) });
      if (!res.ok) throw new Error("The admin was created, but logging in failed: log in with the same email and password.");
      await api.tokens.revoke.mutate({ id: created.tokenId }).catch(() => undefined);
      window.location.assign("/");
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setPending(false);
    }
  }

  return (
    <div className="auth-page">
      <h1>Set up CodePiper Fleet</h1>
      <p className="muted">Create the first administrator. The setup token was printed by <code>codepiper server</code> when it started with an empty database.</p>
      <form className="form" onSubmit={(e) => void submit(e)}>
        <label>Setup token<input required value={token} onChange={(e) => setToken(e.target.value)} autoComplete="off" spellCheck={false} autoFocus /></label>
        <label>Email<input type="email" required autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} /></label>
        <label>Password<input type="password" required minLength={10} autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} /><span className="hint">At least 10 characters.</span></label>
        <label>Repeat the password<input type="password" required autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} /></label>
        <ErrorBox error={error} />
        <button className="primary" type="submit" disabled={pending}>{pending ? "Creating…" : "Create admin and log in"}</button>
      </form>
      <p><a href="/login/">Already set up? Log in</a></p>
    </div>
  );
}
