"use client";
// Two-factor authentication (TOTP) of the logged-in user: status, setup (secret + otpauth URI,
// then a code turns it on and shows recovery codes once), and turning it off.
import { useId, useState, type FormEvent } from "react";
import { api } from "@/lib/trpc";
import { useAction, useQuery } from "@/lib/hooks";
import { CopyButton, ErrorBox } from "@/components/ui";
import { FieldError } from "@/components/forms/FieldError";

export function TwoFactor() {
  const uid = useId();
  const status = useQuery(() => api.auth.totp.status.query(), []);
  const [setup, setSetup] = useState<{ secret: string; uri: string } | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [code, setCode] = useState("");
  const [password, setPassword] = useState("");
  const [submitted, setSubmitted] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const start = useAction(() => api.auth.totp.setup.mutate());
  const enable = useAction((c: string) => api.auth.totp.enable.mutate({ code: c }));
  const disable = useAction((input: { code?: string; password?: string }) => api.auth.totp.disable.mutate(input));
  const s = status.data;

  async function doSetup() {
    setNotice(null);
    setCodes(null);
    const r = await start.run();
    if (r) {
      setSetup(r);
      setCode("");
      setSubmitted(false);
      status.reload();
    }
  }
  const codeErr = /^\d{6}$/.test(code.trim()) ? null : "Enter the 6-digit code your authenticator shows.";
  async function doEnable(e: FormEvent) {
    e.preventDefault();
    setSubmitted(true);
    if (codeErr) return;
    const r = await enable.run(code.trim());
    if (r) {
      setSetup(null);
      setCode("");
      setSubmitted(false);
      setCodes(r.recoveryCodes);
      status.reload();
    }
  }
  const offErr = code.trim() === "" && password === "" ? "Enter a code from your authenticator, a recovery code, or your password." : null;
  async function doDisable(e: FormEvent) {
    e.preventDefault();
    setSubmitted(true);
    if (offErr) return;
    const r = await disable.run(password !== "" ? { password } : { code: code.trim() });
    if (r) {
      setCode("");
      setPassword("");
      setSubmitted(false);
      setCodes(null);
      setNotice("Two-factor authentication is off.");
      status.reload();
    }
  }

  return (
    <section aria-labelledby="totp-title">
      <h2 id="totp-title">Two-factor authentication</h2>
      <ErrorBox error={status.error} />
      {!s && status.loading ? <p className="muted">Loading…</p> : null}
      {notice ? <p className="notice" role="status">{notice}</p> : null}
      {s ? (
        <p data-testid="totp-status">
          Status:{" "}
          {s.enabled ? <><strong>on</strong> <span className="muted">({s.recoveryCodesLeft} recovery code{s.recoveryCodesLeft === 1 ? "" : "s"} left)</span></> : s.pending ? <><strong>off</strong> <span className="muted">(setup started, not finished)</span></> : <strong>off</strong>}
        </p>
      ) : null}

      {codes ? (
        <div className="panel" data-testid="recovery-codes">
          <p className="warning"><strong>Save these recovery codes now: they are shown only now, never again.</strong> Each one logs you in once if you lose your authenticator.</p>
          <pre className="secret" aria-label="Recovery codes">{codes.join("\n")}</pre>
          <p className="button-row" style={{ marginTop: ".5rem" }}>
            <CopyButton text={codes.join("\n")} label="Copy recovery codes" />
            <button type="button" className="small" onClick={() => setCodes(null)}>I saved them</button>
          </p>
        </div>
      ) : null}

      {s && !s.enabled ? (
        setup ? (
          <div className="panel">
            <p>Add this secret to your authenticator app (or open the otpauth link on a device that has one), then enter the code it shows.</p>
            <div className="field">
              <span className="muted">Secret</span>
              <pre className="secret" aria-label="TOTP secret" data-testid="totp-secret">{setup.secret}</pre>
            </div>
            <p className="button-row"><CopyButton text={setup.secret} label="Copy secret" /></p>
            <div className="field">
              <span className="muted">otpauth URI</span>
              <pre className="secret" aria-label="otpauth URI" data-testid="totp-uri">{setup.uri}</pre>
            </div>
            <p className="button-row"><CopyButton text={setup.uri} label="Copy URI" /></p>
            <form className="form" onSubmit={(e) => void doEnable(e)} noValidate>
              <div className="row">
                <div className="field">
                  <label>Code from your authenticator
                    <input value={code} onChange={(e) => setCode(e.target.value)} inputMode="numeric" autoComplete="one-time-code" maxLength={6} aria-invalid={submitted && codeErr ? true : undefined} aria-describedby={submitted && codeErr ? `${uid}-c` : undefined} />
                  </label>
                  <FieldError id={`${uid}-c`} text={submitted ? codeErr : null} />
                </div>
              </div>
              <ErrorBox error={enable.error} />
              <div className="button-row">
                <button className="primary" type="submit" disabled={enable.pending}>Turn on</button>
                <button type="button" onClick={() => { setSetup(null); setCode(""); setSubmitted(false); }}>Cancel</button>
              </div>
            </form>
          </div>
        ) : (
          <div>
            {s.pending ? <p className="hint">A setup was started but not finished; its secret cannot be shown again. Set up again to get a new one.</p> : <p className="hint">Protect your login with a code from an authenticator app (TOTP).</p>}
            <button type="button" className="primary" onClick={() => void doSetup()} disabled={start.pending}>Set up</button>
            <ErrorBox error={start.error} />
          </div>
        )
      ) : null}

      {s?.enabled ? (
        <form className="form panel" onSubmit={(e) => void doDisable(e)} noValidate aria-label="Turn off two-factor authentication">
          <p className="hint" style={{ margin: 0 }}>To turn it off, prove it is you: a current code, one of your recovery codes, or your password.</p>
          <div className="row">
            <div className="field">
              <label>Code from your authenticator
                <input value={code} onChange={(e) => setCode(e.target.value)} autoComplete="one-time-code" aria-invalid={submitted && offErr ? true : undefined} aria-describedby={submitted && offErr ? `${uid}-o` : undefined} />
              </label>
              <span className="hint">or a recovery code</span>
            </div>
            <div className="field">
              <label>Or your password
                <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" />
              </label>
            </div>
          </div>
          <FieldError id={`${uid}-o`} text={submitted ? offErr : null} />
          <ErrorBox error={disable.error} />
          <div><button type="submit" className="danger" disabled={disable.pending}>Turn off</button></div>
        </form>
      ) : null}
    </section>
  );
}
