"use client";
import { useEffect, useState, type FormEvent } from "react";
import { api } from "@/lib/trpc";
import { ErrorBox } from "@/components/ui";

/** Password login (and the TOTP code when the account has two-factor on): sets the session cookie. */
export default function LoginPage() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [totp, setTotp] = useState("");
  const [needTotp, setNeedTotp] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const [setupPending, setSetupPending] = useState(false);

  useEffect(() => {
    api.auth.setupPending.query().then((p) => setSetupPending(p.pending), () => undefined);
  }, []);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setPending(true);
    setError(null);
    try {
      const res = await fetch("/auth/login-browser", {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password, ...(needTotp && totp ? { totp } : {}) }),
      });
      if (res.ok) {
        const next = new URLSearchParams(window.location.search).get("next");
        window.location.assign(next && next.startsWith("/") && !next.startsWith("//") ? next : "/");
        return;
      }
      const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
      if (body?.error?.code === "CODEPIPER_TOTP_REQUIRED") {
        setNeedTotp(true);
        setError(needTotp ? body.error.message ?? "Enter the code from your authenticator app." : null);
      } else {
        setError(body?.error?.message ?? `Login failed (HTTP ${res.status}).`);
      }
    } catch {
      setError("The control plane cannot be reached. Check that it is running, then try again.");
    } finally {
      setPending(false);
    }
  }

  return (
    <div className="auth-page">
      <h1>Log in to CodePiper Fleet</h1>
      {setupPending ? (
        <p className="notice">No administrator exists yet. <a href="/setup/">Set up the first admin</a> with the setup token that <code>codepiper server</code> printed.</p>
      ) : null}
      <form className="form" onSubmit={(e) => void submit(e)}>
        <label>Email<input type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} autoFocus /></label>
        <label>Password<input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} /></label>
        {needTotp ? (
          <label>
            Two-factor code
            <input inputMode="numeric" autoComplete="one-time-code" value={totp} onChange={(e) => setTotp(e.target.value.trim())} placeholder="123456 or a recovery code" autoFocus required />
            <span className="hint">Your account has two-factor authentication on: enter the 6-digit code from your authenticator app, or a recovery code.</span>
          </label>
        ) : null}
        <ErrorBox error={error} />
        <button className="primary" type="submit" disabled={pending}>{pending ? "Logging in…" : "Log in"}</button>
      </form>
    </div>
  );
}
