"use client";
import "../sessions.css";
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { Suspense, useEffect, useRef, useState, type ReactNode } from "react";
import { absolutePathSchema, BILLING_MODES, branchNameSchema, sessionNameSchema } from "@codepiper/core/wire/sessions";
import { api, appCodeOf, messageOf } from "@/lib/trpc";
import { redirectToLogin, useLive, useQuery } from "@/lib/hooks";
import type { HostView, Inputs, Outputs } from "@/lib/types";
import { canOperate, useMe } from "@/components/Shell";
import { ErrorBox, PageTitle } from "@/components/ui";
import { checksOf, type Check } from "@/components/sessions/checks";

type StartInput = Inputs["sessions"]["start"];
type Provider = NonNullable<StartInput["provider"]>;
type Billing = (typeof BILLING_MODES)[number];
type Workspace = Outputs["workspaces"]["list"][number];

const MODEL = /^[A-Za-z0-9._:[\]-]+$/;

const BILLING_TEXT: Record<Billing, string> = {
  subscription: "Subscription: the provider CLI uses its own login on the host; API keys (ANTHROPIC_API_KEY, OPENAI_API_KEY, CODEX_API_KEY) are removed from the session's environment.",
  api: "API: API keys from the env sets are kept, so usage is billed per token to that key.",
};

function firstIssue(result: { success: boolean; error?: { issues: readonly { message: string }[] } }): string | null {
  return result.success ? null : (result.error?.issues[0]?.message ?? "invalid");
}

/** Start a session: pick a workspace and/or host, provider and directory, check it on the host, start it. */
export default function NewSessionPage() {
  return (
    <Suspense fallback={<><PageTitle>New session</PageTitle><p className="muted">Loading…</p></>}>
      <NewSession />
    </Suspense>
  );
}

function NewSession() {
  const me = useMe();
  if (!canOperate(me)) {
    return (
      <>
        <PageTitle>New session</PageTitle>
        <p className="notice" role="status">
          You are logged in as a viewer: viewers cannot start sessions. Ask an admin for the operator role. <Link href="/sessions/">Back to sessions</Link>
        </p>
      </>
    );
  }
  return <StartForm />;
}

interface Validated {
  key: string;
  checks: Check[];
  ok: boolean;
}

function StartForm() {
  const params = useSearchParams();
  const router = useRouter();
  const hosts = useLive<HostView[]>((h) => api.hosts.live.subscribe(undefined, h), []);
  const workspaces = useQuery(() => api.workspaces.list.query(), []);
  const envSets = useQuery(() => api.envSets.list.query(), []);
  const policySets = useQuery(() => api.policySets.list.query(), []);

  const [workspaceId, setWorkspaceId] = useState("");
  const [host, setHost] = useState(params.get("host")?.trim() ?? "");
  const [provider, setProvider] = useState<Provider | "">("");
  const [cwd, setCwd] = useState("");
  const [name, setName] = useState("");
  const [model, setModel] = useState("");
  const [billing, setBilling] = useState<Billing>("subscription");
  const [chosenEnvSets, setChosenEnvSets] = useState<string[]>([]);
  const [chosenPolicySets, setChosenPolicySets] = useState<string[]>([]);
  const [branch, setBranch] = useState("");
  const [createBranch, setCreateBranch] = useState(false);
  const [dangerous, setDangerous] = useState(false);
  const [showErrors, setShowErrors] = useState(false);
  const [busy, setBusy] = useState<"validate" | "start" | null>(null);
  const [serverError, setServerError] = useState<string | null>(null);
  const [validated, setValidated] = useState<Validated | null>(null);
  const [started, setStarted] = useState(false);

  const liveHosts = (hosts.data ?? []).filter((h) => !h.revoked);
  const online = liveHosts.filter((h) => h.online);

  // ?workspace=<name|id> preselects a workspace once the list is there.
  const wsParamDone = useRef(false);
  useEffect(() => {
    if (wsParamDone.current || !workspaces.data) return;
    wsParamDone.current = true;
    const want = params.get("workspace");
    const found = want ? workspaces.data.find((w) => w.id === want || w.name === want) : undefined;
    if (found) setWorkspaceId(found.id);
  }, [workspaces.data, params]);

  // With exactly one host online and nothing else to go by, that is the host.
  const hostDefaultDone = useRef(false);
  useEffect(() => {
    if (hostDefaultDone.current || !hosts.data) return;
    hostDefaultDone.current = true;
    if (!host && !params.get("workspace") && online.length === 1) {
      const only = online[0]!;
      setHost(only.name);
      if (only.providers.length === 1) setProvider(only.providers[0]!.id);
    }
  }, [hosts.data, host, online, params]);

  const ws: Workspace | undefined = workspaces.data?.find((w) => w.id === workspaceId);
  const effectiveHost: HostView | undefined = host ? liveHosts.find((h) => h.name === host) : ws ? liveHosts.find((h) => h.id === ws.hostId) : undefined;
  const effectiveHostName = host || ws?.host || "";
  const effectiveProvider = provider || (ws?.provider as Provider | null | undefined) || "";
  const hostProviders = effectiveHost?.providers ?? [];

  const envSetIdByName = new Map((envSets.data ?? []).map((e) => [e.name, e.id]));
  const wsEnvSetIds = new Set((ws?.envSets ?? []).map((n) => envSetIdByName.get(n) ?? n));
  const policySetIdByName = new Map((policySets.data ?? []).map((p) => [p.name, p.id]));
  const wsPolicySetId = ws?.policySet ? (policySetIdByName.get(ws.policySet) ?? ws.policySet) : null;

  function changeHost(next: string) {
    setHost(next);
    const view = next ? liveHosts.find((h) => h.name === next) : ws ? liveHosts.find((h) => h.id === ws.hostId) : undefined;
    const has = view?.providers.map((p) => p.id) ?? [];
    if (provider && view && !has.includes(provider)) setProvider(has.length === 1 && !ws?.provider ? has[0]! : "");
    else if (!provider && has.length === 1 && !ws?.provider) setProvider(has[0]!);
  }

  function toggle(list: string[], set: (v: string[]) => void, id: string, on: boolean) {
    set(on ? [...list, id] : list.filter((x) => x !== id));
  }

  // ---- client-side checks (the server checks again) ----
  const errors: Partial<Record<"host" | "provider" | "cwd" | "name" | "model" | "branch" | "createBranch", string>> = {};
  if (!effectiveHostName && online.length !== 1) errors.host = online.length === 0 ? "No host is online: start an agent on one first." : "Choose a host (or a workspace).";
  if (effectiveHost && !effectiveHost.online) errors.host = `${effectiveHost.name} is offline: its agent must be running and linked to start a session there.`;
  if (!effectiveProvider) errors.provider = "Choose a provider (or a workspace that sets one).";
  else if (effectiveHost && !hostProviders.some((p) => p.id === effectiveProvider)) errors.provider = `${effectiveHost.name} has no ${effectiveProvider} CLI installed.`;
  if (cwd.trim()) errors.cwd = firstIssue(absolutePathSchema.safeParse(cwd.trim())) ?? undefined;
  else if (!ws) errors.cwd = "Give the directory on the host, as an absolute path (e.g. /home/me/project).";
  if (cwd.trim() && !errors.cwd && cwd.trim() !== cwd) errors.cwd = "Remove the spaces around the path.";
  if (name.trim()) errors.name = firstIssue(sessionNameSchema.safeParse(name.trim())) ?? undefined;
  if (model.trim() && !MODEL.test(model.trim())) errors.model = "A model alias (sonnet, opus, haiku, opusplan) or a full model id: letters, digits and . _ : - [ ]";
  if (model.trim().length > 200) errors.model = "At most 200 characters.";
  if (branch.trim()) {
    errors.branch = firstIssue(branchNameSchema.safeParse(branch.trim())) ?? undefined;
    if (!createBranch) errors.createBranch = "A worktree is made on a new branch: check “Create the branch” to confirm (using an existing branch is not supported).";
  } else if (createBranch) errors.branch = "Give the name of the branch to create.";
  const invalid = Object.values(errors).some(Boolean);

  const input: StartInput = {
    workspace: ws?.id,
    host: host || undefined,
    provider: provider || undefined,
    cwd: cwd.trim() || undefined,
    name: name.trim() || undefined,
    model: model.trim() || undefined,
    billing,
    dangerous,
    envSets: chosenEnvSets.filter((id) => !wsEnvSetIds.has(id)),
    policySets: chosenPolicySets.filter((id) => id !== wsPolicySetId && !policySets.data?.find((p) => p.id === id)?.isDefault),
    worktree: branch.trim() ? { branch: branch.trim() } : undefined,
  };
  const key = JSON.stringify(input);
  const current = validated && validated.key === key ? validated : null;

  /** Validates on the host; returns true when every check passed. */
  async function validate(): Promise<boolean> {
    setServerError(null);
    try {
      const res = await api.sessions.start.mutate({ ...input, validateOnly: true });
      setValidated({ key, checks: checksOf(res.validation), ok: res.validation.ok });
      return res.validation.ok;
    } catch (err) {
      // Every check comes back in the answer; an error here is not about the form (network, login, a bad request).
      setValidated(null);
      setServerError(messageOf(err));
      if (appCodeOf(err) === "CODEPIPER_UNAUTHENTICATED") redirectToLogin();
      return false;
    }
  }

  async function onValidate() {
    setShowErrors(true);
    if (invalid) return;
    setBusy("validate");
    await validate();
    setBusy(null);
  }

  async function onStart() {
    setShowErrors(true);
    if (invalid) return;
    setBusy("start");
    try {
      if (!(await validate())) return;
      const res = await api.sessions.start.mutate({ ...input, validateOnly: false });
      if (!res.session) {
        setServerError("The control plane answered without a session. Look in the session list before trying again.");
        return;
      }
      setStarted(true);
      router.push(`/session/?id=${encodeURIComponent(res.session.id)}`);
    } catch (err) {
      setServerError(`Could not start the session: ${messageOf(err)}`);
    } finally {
      setBusy(null);
    }
  }

  const err = (field: keyof typeof errors) => (showErrors ? errors[field] : undefined);
  const loadError = [hosts.error && !hosts.data ? `Hosts: ${hosts.error}` : null, workspaces.error ? `Workspaces: ${workspaces.error}` : null, envSets.error ? `Env sets: ${envSets.error}` : null, policySets.error ? `Policy sets: ${policySets.error}` : null].filter(Boolean).join(" · ");

  return (
    <>
      <PageTitle actions={<Link className="button" href="/sessions/">Back to sessions</Link>}>New session</PageTitle>
      <ErrorBox error={loadError ? `Some choices could not be loaded. ${loadError}` : null} />
      <div className="panel">
        <form className="form" noValidate onSubmit={(e) => { e.preventDefault(); void onStart(); }} aria-busy={busy !== null}>
          <Field label="Workspace" hint="Optional. A workspace fills in the host, directory, provider, env sets and policy set.">
            {(a) => (
              <select {...a} value={workspaceId} onChange={(e) => setWorkspaceId(e.target.value)} disabled={!workspaces.data}>
                <option value="">{workspaces.data ? (workspaces.data.length ? "None" : "None (no workspaces defined)") : "Loading…"}</option>
                {(workspaces.data ?? []).map((w) => <option key={w.id} value={w.id}>{w.name}</option>)}
              </select>
            )}
          </Field>
          {ws ? <WorkspaceFills ws={ws} host={host} provider={provider} cwd={cwd.trim()} hostOnline={effectiveHost?.online ?? null} /> : null}

          <div className="row">
            <Field label="Host" error={err("host")} hint={ws ? `Leave on “from workspace” to use ${ws.host}.` : online.length === 0 && hosts.data ? "No host is online." : undefined}>
              {(a) => (
                <select {...a} value={host} onChange={(e) => changeHost(e.target.value)} disabled={!hosts.data}>
                  <option value="">{!hosts.data ? "Loading…" : ws ? `From workspace: ${ws.host}` : "Choose a host…"}</option>
                  {liveHosts.map((h) => (
                    <option key={h.id} value={h.name} disabled={!h.online}>{h.online ? h.name : `${h.name} (offline)`}</option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Provider" error={err("provider")} hint={!effectiveHost ? (ws || host ? undefined : "Choose a host to see its provider CLIs.") : hostProviders.length === 0 ? `${effectiveHost.name} has no provider CLI installed.` : undefined}>
              {(a) => (
                <select {...a} value={provider} onChange={(e) => setProvider(e.target.value as Provider | "")}>
                  <option value="">{ws?.provider ? `From workspace: ${ws.provider}` : "Choose a provider…"}</option>
                  {hostProviders.map((p) => <option key={p.id} value={p.id}>{p.id}{p.version ? ` ${p.version}` : ""}</option>)}
                </select>
              )}
            </Field>
          </div>

          <Field label="Directory" error={err("cwd")} hint={ws ? `An absolute path on the host. Leave empty to use the workspace's ${ws.path}.` : "An absolute path on the host (not on this computer)."}>
            {(a) => <input {...a} className="mono" value={cwd} onChange={(e) => setCwd(e.target.value)} placeholder={ws?.path ?? "/home/me/project"} autoComplete="off" spellCheck={false} />}
          </Field>

          <div className="row">
            <Field label="Name" error={err("name")} hint="Optional; unique on the host.">
              {(a) => <input {...a} value={name} onChange={(e) => setName(e.target.value)} placeholder="fix-login" autoComplete="off" spellCheck={false} />}
            </Field>
            <Field label="Model" error={err("model")} hint="Optional; the provider's default otherwise.">
              {(a) => <input {...a} className="mono" value={model} onChange={(e) => setModel(e.target.value)} placeholder={effectiveProvider === "codex" ? "gpt-5-codex" : "sonnet"} autoComplete="off" spellCheck={false} />}
            </Field>
            <Field label="Billing" hint={BILLING_TEXT[billing]}>
              {(a) => (
                <select {...a} value={billing} onChange={(e) => setBilling(e.target.value as Billing)}>
                  {BILLING_MODES.map((b) => <option key={b} value={b}>{b}</option>)}
                </select>
              )}
            </Field>
          </div>

          <fieldset className="choices">
            <legend>Env sets</legend>
            {envSets.data === undefined ? <span className="muted">{envSets.error ? "Not available." : "Loading…"}</span> : envSets.data.length === 0 && wsEnvSetIds.size === 0 ? <span className="muted">No env sets defined.</span> : (
              <div className="list">
                {envSets.data.map((e) => {
                  const fromWs = wsEnvSetIds.has(e.id);
                  return (
                    <label key={e.id} className="check" title={e.names.length ? `Variables: ${e.names.join(", ")}` : "No variables"}>
                      <input type="checkbox" checked={fromWs || chosenEnvSets.includes(e.id)} disabled={fromWs || Boolean(e.error)} onChange={(ev) => toggle(chosenEnvSets, setChosenEnvSets, e.id, ev.target.checked)} />
                      {e.name}
                      {fromWs ? <span className="from">(from workspace)</span> : e.error ? <span className="from">(cannot be opened: {e.error})</span> : null}
                    </label>
                  );
                })}
              </div>
            )}
            <p className="hint" style={{ margin: ".4rem 0 0" }}>Values are sealed to the host and never shown. A later set overrides an earlier one; the workspace&apos;s sets come first.</p>
          </fieldset>

          <fieldset className="choices">
            <legend>Policy sets</legend>
            {policySets.data === undefined ? <span className="muted">{policySets.error ? "Not available." : "Loading…"}</span> : policySets.data.length === 0 ? <span className="muted">No policy sets defined: global policies apply.</span> : (
              <div className="list">
                {policySets.data.map((p) => {
                  const fixed = p.isDefault ? "(default, always applies)" : p.id === wsPolicySetId ? "(from workspace)" : null;
                  return (
                    <label key={p.id} className="check" title={p.description || (p.policies.length ? `Policies: ${p.policies.join(", ")}` : "No policies")}>
                      <input type="checkbox" checked={fixed !== null || chosenPolicySets.includes(p.id)} disabled={fixed !== null} onChange={(ev) => toggle(chosenPolicySets, setChosenPolicySets, p.id, ev.target.checked)} />
                      {p.name}
                      {fixed ? <span className="from">{fixed}</span> : null}
                    </label>
                  );
                })}
              </div>
            )}
            <p className="hint" style={{ margin: ".4rem 0 0" }}>Added to the global policies and the default set.</p>
          </fieldset>

          <div className="row">
            <Field label="Worktree branch" error={err("branch")} hint="Optional: run in a new git worktree next to the repository, on this new branch.">
              {(a) => <input {...a} className="mono" value={branch} onChange={(e) => setBranch(e.target.value)} placeholder="fix-123" autoComplete="off" spellCheck={false} />}
            </Field>
            <div style={{ display: "flex", flexDirection: "column", justifyContent: "center", gap: ".25rem" }}>
              <label className="check">
                <input type="checkbox" checked={createBranch} onChange={(e) => setCreateBranch(e.target.checked)} aria-invalid={err("createBranch") ? true : undefined} aria-describedby={err("createBranch") ? "createBranch-error" : undefined} />
                Create the branch
              </label>
              {err("createBranch") ? <p id="createBranch-error" className="field-error" role="alert">{err("createBranch")}</p> : null}
            </div>
          </div>

          <div>
            <label className="check">
              <input type="checkbox" checked={dangerous} onChange={(e) => setDangerous(e.target.checked)} aria-describedby={dangerous ? "dangerous-warning" : undefined} />
              Dangerous mode
            </label>
            {dangerous ? (
              <div id="dangerous-warning" className="warning" role="note">
                <strong>Dangerous mode skips every permission check.</strong> The provider starts without its own prompts (Claude Code with
                <code> --dangerously-skip-permissions</code>, Codex with <code>--dangerously-bypass-approvals-and-sandbox</code>, which also turns off its sandbox),
                and the fleet&apos;s policies are <strong>not applied</strong>: every tool call and every input is allowed without evaluation, nothing is denied and
                nothing comes to Approvals. Each tool call is still recorded in the audit log (decider “dangerous”). Use it only where the agent may change or delete anything the host user can.
              </div>
            ) : null}
          </div>

          <div className="actions">
            <button type="button" onClick={() => void onValidate()} disabled={busy !== null || started}>{busy === "validate" ? "Validating…" : "Validate"}</button>
            <button type="submit" className="primary" disabled={busy !== null || started}>{busy === "start" ? "Starting…" : started ? "Opening the session…" : "Start session"}</button>
            {busy === "start" ? <span className="muted" role="status">Checking on the host, then starting: this can take up to a minute.</span> : null}
            {showErrors && invalid ? <span className="field-error" role="alert">Fix the fields marked above first.</span> : null}
          </div>
          <ErrorBox error={serverError} />
          <ValidationResult result={current} stale={validated !== null && current === null} />
        </form>
      </div>
    </>
  );
}

/** A labelled control with its hint and its error (aria-invalid + aria-describedby). */
function Field({ label, error, hint, children }: { label: string; error?: string; hint?: string; children: (a: { id: string; "aria-invalid"?: true; "aria-describedby"?: string }) => ReactNode }) {
  const id = `f-${label.toLowerCase().replace(/[^a-z]+/g, "-")}`;
  const describedBy = [error ? `${id}-error` : null, hint ? `${id}-hint` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": error ? true : undefined, "aria-describedby": describedBy })}
      {error ? <span id={`${id}-error`} className="field-error" role="alert">{error}</span> : null}
      {hint ? <span id={`${id}-hint`} className="hint">{hint}</span> : null}
    </div>
  );
}

function WorkspaceFills({ ws, host, provider, cwd, hostOnline }: { ws: Workspace; host: string; provider: string; cwd: string; hostOnline: boolean | null }) {
  const over = (mine: string, theirs: string | null) => (mine && mine !== theirs ? <span className="muted"> — replaced by your choice: {mine}</span> : null);
  return (
    <div className="notice" role="region" aria-label="What the workspace fills in">
      <p style={{ margin: "0 0 .4rem" }}>Workspace <strong>{ws.name}</strong> fills in{ws.description ? ` (${ws.description})` : ""}:</p>
      <dl className="workspace-fills">
        <dt>Host</dt>
        <dd>{ws.host}{!host && hostOnline === false ? " (offline)" : ""}{over(host, ws.host)}</dd>
        <dt>Directory</dt>
        <dd className="mono">{ws.path}{over(cwd, ws.path)}</dd>
        <dt>Provider</dt>
        <dd>{ws.provider ?? <span className="muted">not set</span>}{over(provider, ws.provider)}</dd>
        <dt>Env sets</dt>
        <dd>{ws.envSets.length ? ws.envSets.join(", ") : <span className="muted">none</span>}</dd>
        <dt>Policy set</dt>
        <dd>{ws.policySet ?? <span className="muted">none</span>}</dd>
      </dl>
      <p className="hint" style={{ margin: ".4rem 0 0" }}>A host, directory or provider you set below replaces the workspace&apos;s; env sets and policy sets you check are added to its own.</p>
    </div>
  );
}

function ValidationResult({ result, stale }: { result: Validated | null; stale: boolean }) {
  return (
    <div role="status" aria-live="polite" aria-label="Validation result">
      {stale ? <p className="muted">The form changed since the last validation: validate again.</p> : null}
      {result ? (
        <div className={result.ok ? "notice" : "error"} data-testid="validation-result">
          <p style={{ margin: "0 0 .5rem", fontWeight: 600 }}>
            {result.ok ? "Everything checked out: the session can start. Nothing was created." : `The session cannot start as it is: fix the ${result.checks.filter((c) => c.state === "problem").length === 1 ? "problem" : "problems"} below.`}
          </p>
          <ul className="checks">
            {result.checks.map((c) => (
              <li key={c.id} className={c.state} data-check={c.id}>
                <span>{c.label}</span>
                <span className="verdict">{c.state === "ok" ? "✓ ok" : c.state === "problem" ? "✗ problem" : "– not checked"}</span>
                <span className="detail">{c.detail}</span>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </div>
  );
}
