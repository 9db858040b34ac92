"use client";
// Create or edit one policy. Rules are checked as you type with core's validatePolicyRules, the
// same pure validator the control plane runs, so its errors (rule index and field) match the server's.
import { useEffect, useId, useMemo, useRef, useState, type FormEvent, type ReactNode } from "react";
import { POLICY_LIMITS, validatePolicyRules } from "@codepiper/core";
import { api } from "@/lib/trpc";
import { useAction } from "@/lib/hooks";
import type { Outputs } from "@/lib/types";
import { ConfirmButton, ErrorBox } from "@/components/ui";

export type PolicyView = Outputs["policies"]["list"]["policies"][number];
type Scope = "global" | "set" | "session";

export const RULES_EXAMPLE = `[
  {"action": "deny", "tool": "Bash", "args": {"command": "rm -rf *"}, "reason": "no rm -rf"},
  {"action": "allow", "tool": ["Read", "Grep", "Glob"]},
  {"action": "ask", "tool": "Bash"}
]`;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Rules text → the rules, or the validator's errors (`rules[2].tool: …`). */
export function checkRulesText(text: string): { rules: unknown; errors: string[] } {
  if (!text.trim()) return { rules: undefined, errors: ["rules: give a JSON array with at least one rule (see the example)"] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { rules: undefined, errors: [`rules: not valid JSON (${err instanceof Error ? err.message : String(err)})`] };
  }
  const checked = validatePolicyRules(parsed);
  return checked.ok ? { rules: checked.rules, errors: [] } : { rules: undefined, errors: checked.errors };
}

function nameError(name: string): string | null {
  const n = name.trim();
  if (!n) return "Give the policy a name.";
  if (n.length > POLICY_LIMITS.nameMax) return `At most ${POLICY_LIMITS.nameMax} characters.`;
  if (!NAME_RE.test(n)) return "Use letters, digits, '.', '_' and '-', starting with a letter or digit.";
  return null;
}

function priorityError(text: string): string | null {
  if (!/^-?\d+$/.test(text.trim())) return "A whole number (higher is evaluated first).";
  const n = Number(text);
  if (n < -1_000_000 || n > 1_000_000) return "Between -1000000 and 1000000.";
  return null;
}

export function PolicyForm({ policy, onSaved, onDeleted, onCancel }: { policy: PolicyView | null; onSaved: (name: string) => void; onDeleted: (name: string) => void; onCancel: () => void }) {
  const editing = policy !== null;
  const id = useId();
  const [name, setName] = useState(policy?.name ?? "");
  const [description, setDescription] = useState(policy?.description ?? "");
  const [priority, setPriority] = useState(String(policy?.priority ?? 0));
  const [scope, setScope] = useState<Scope>((policy?.scope as Scope | undefined) ?? "global");
  const [session, setSession] = useState(policy?.sessionId ?? "");
  const [enabled, setEnabled] = useState(policy?.enabled ?? true);
  const originalRules = useMemo(() => (policy ? JSON.stringify(policy.rules, null, 2) : ""), [policy]);
  const [rulesText, setRulesText] = useState(originalRules);
  const [touched, setTouched] = useState(editing);
  const [submitted, setSubmitted] = useState(false);
  const nameRef = useRef<HTMLInputElement>(null);
  const rulesRef = useRef<HTMLTextAreaElement>(null);

  useEffect(() => nameRef.current?.focus(), []);

  const rules = useMemo(() => checkRulesText(rulesText), [rulesText]);
  const errName = nameError(name);
  const errPriority = priorityError(priority);
  const errSession = scope === "session" && !editing && !session.trim() ? "Give the session id (or a unique prefix of it, at least 4 characters)." : null;
  const showRuleErrors = (touched || submitted) && rules.errors.length > 0;

  const save = useAction(async () => {
    if (!policy) {
      return api.policies.create.mutate({
        name: name.trim(),
        description,
        priority: Number(priority),
        enabled,
        scope: scope === "session" ? { session: session.trim() } : scope,
        rules: rules.rules,
      });
    }
    const rulesChanged = JSON.stringify(rules.rules) !== JSON.stringify(policy.rules);
    return api.policies.update.mutate({
      policy: policy.id,
      name: name.trim() !== policy.name ? name.trim() : undefined,
      description: description !== policy.description ? description : undefined,
      priority: Number(priority) !== policy.priority ? Number(priority) : undefined,
      enabled: enabled !== policy.enabled ? enabled : undefined,
      rules: rulesChanged ? rules.rules : undefined,
    });
  });
  const remove = useAction(async () => (policy ? api.policies.delete.mutate({ policy: policy.id }) : undefined));

  async function submit(e: FormEvent) {
    e.preventDefault();
    setSubmitted(true);
    if (errName) return nameRef.current?.focus();
    if (errPriority || errSession) return;
    if (rules.errors.length > 0) return rulesRef.current?.focus();
    const saved = await save.run();
    if (saved) onSaved(saved.name);
  }

  async function del() {
    const gone = await remove.run();
    if (gone) onDeleted(gone.name);
  }

  return (
    <form className="form" onSubmit={(e) => void submit(e)} noValidate aria-label={editing ? `Edit policy ${policy.name}` : "New policy"} style={{ maxWidth: "56rem" }}>
      <div className="row">
        <Field id={`${id}-name`} label="Name" error={submitted ? errName : null}>
          <input id={`${id}-name`} ref={nameRef} value={name} onChange={(e) => setName(e.target.value)} maxLength={POLICY_LIMITS.nameMax} aria-invalid={submitted && errName ? true : undefined} aria-describedby={`${id}-name-msg`} autoComplete="off" placeholder="no-destructive-shell" />
        </Field>
        <Field id={`${id}-prio`} label="Priority" hint="Higher is evaluated first." error={errPriority}>
          <input id={`${id}-prio`} type="number" step={1} min={-1_000_000} max={1_000_000} value={priority} onChange={(e) => setPriority(e.target.value)} aria-invalid={errPriority ? true : undefined} aria-describedby={`${id}-prio-msg`} />
        </Field>
        <Field id={`${id}-scope`} label="Scope" hint={editing ? "The scope cannot be changed: delete the policy and create it again." : "A set-scoped policy applies only once it is in a policy set."}>
          <select id={`${id}-scope`} value={scope} onChange={(e) => setScope(e.target.value as Scope)} disabled={editing} aria-describedby={`${id}-scope-msg`}>
            <option value="global">global — every session</option>
            <option value="set">set — sessions started with a policy set containing it</option>
            <option value="session">session — one session</option>
          </select>
        </Field>
        {scope === "session" ? (
          <Field id={`${id}-session`} label="Session" error={submitted ? errSession : null}>
            <input id={`${id}-session`} value={session} onChange={(e) => setSession(e.target.value)} disabled={editing} className="mono" placeholder="session id or prefix" aria-invalid={submitted && errSession ? true : undefined} aria-describedby={`${id}-session-msg`} autoComplete="off" />
          </Field>
        ) : null}
      </div>
      <label>
        Description
        <textarea value={description} onChange={(e) => setDescription(e.target.value)} maxLength={POLICY_LIMITS.descriptionMax} rows={2} style={{ fontFamily: "inherit" }} placeholder="what it is for" />
      </label>
      <label className="check">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        Enabled
      </label>
      <label>
        Rules
        <textarea
          ref={rulesRef}
          className="rules-text"
          value={rulesText}
          onChange={(e) => {
            setRulesText(e.target.value);
            setTouched(true);
          }}
          spellCheck={false}
          placeholder={RULES_EXAMPLE}
          aria-invalid={showRuleErrors ? true : undefined}
          aria-describedby={`${id}-rules-hint ${id}-rules-err`}
          rows={Math.min(24, Math.max(8, rulesText.split("\n").length + 1))}
        />
      </label>
      <div id={`${id}-rules-err`}>
        {showRuleErrors ? (
          <div className="error" role="alert">
            {rules.errors.length === 1 ? "The rules have a problem:" : `The rules have ${rules.errors.length} problems:`}
            <ul className="rule-errors">
              {rules.errors.slice(0, 20).map((err) => <li key={err}>{err}</li>)}
            </ul>
            {rules.errors.length > 20 ? <span>…and {rules.errors.length - 20} more.</span> : null}
          </div>
        ) : null}
      </div>
      <div id={`${id}-rules-hint`} className="hint">
        A JSON array, evaluated in order; the first matching rule decides. Fields: <code>action</code> (allow | deny | ask, required), <code>tool</code>, <code>args.&lt;name&gt;</code>, <code>cwd</code> — globs (<code>*</code> <code>?</code> <code>[a-z]</code> <code>{"{a,b}"}</code>, a leading <code>!</code> negates) or lists of globs — and <code>reason</code> (shown to the agent and the approver). A rule naming only its action matches everything. Example:
        <pre className="rules-pre">{RULES_EXAMPLE}</pre>
      </div>
      <ErrorBox error={save.error} />
      <ErrorBox error={remove.error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={save.pending}>{editing ? "Save policy" : "Create policy"}</button>
        <button type="button" onClick={onCancel}>Cancel</button>
        <span style={{ flex: 1 }} />
        {editing ? <ConfirmButton question={`Delete policy ${policy.name}? Hosts stop applying it at once.`} onConfirm={() => void del()} disabled={remove.pending}>Delete</ConfirmButton> : null}
      </div>
    </form>
  );
}

/** A label above its control, with an optional hint and error below (outside the label, so the accessible name stays the label text). */
function Field({ id, label, hint, error, children }: { id: string; label: string; hint?: string; error?: string | null; children: ReactNode }) {
  return (
    <div style={{ display: "grid", gap: ".25rem", alignContent: "start" }}>
      <label htmlFor={id}>{label}</label>
      {children}
      <div id={`${id}-msg`}>
        {hint ? <span className="hint">{hint}</span> : null}
        {error ? <span className="error" role="alert" style={{ display: "block" }}>{error}</span> : null}
      </div>
    </div>
  );
}
