"use client";
// What would be decided for a tool call, and by which rule: policies.test (the procedure behind
// `codepiper policy test`), as for one session or for a new session started with a policy set.
import { useId, useMemo, useState, type FormEvent } from "react";
import { api } from "@/lib/trpc";
import { useAction } from "@/lib/hooks";
import type { Inputs, Outputs } from "@/lib/types";
import { ErrorBox } from "@/components/ui";

type SetView = Outputs["policySets"]["list"][number];
type TestResult = Outputs["policies"]["test"];
type TestInput = Inputs["policies"]["test"];

function parseArgs(text: string): { args?: Record<string, unknown>; error: string | null } {
  if (!text.trim()) return { args: {}, error: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { error: `Not valid JSON (${err instanceof Error ? err.message : String(err)}).` };
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return { error: 'Give a JSON object of the tool\'s arguments, e.g. {"command":"rm -rf /"}.' };
  return { args: parsed as Record<string, unknown>, error: null };
}

export function RuleTester({ sets }: { sets: SetView[] }) {
  const id = useId();
  const [tool, setTool] = useState("");
  const [argsText, setArgsText] = useState("");
  const [session, setSession] = useState("");
  const defaultSet = sets.find((s) => s.isDefault)?.name ?? "";
  const [policySet, setPolicySet] = useState<string | null>(null);
  const chosenSet = policySet ?? defaultSet;
  const [cwd, setCwd] = useState("");
  const [tried, setTried] = useState(false);
  const [result, setResult] = useState<{ input: TestInput; out: TestResult } | null>(null);
  const args = useMemo(() => parseArgs(argsText), [argsText]);
  const test = useAction((input: TestInput) => api.policies.test.query(input));
  const toolError = tried && !tool.trim() ? "Give the tool name, e.g. Bash, Edit, Write or terminal_input." : null;
  const bySession = session.trim().length > 0;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setTried(true);
    if (!tool.trim() || args.error) return;
    const input: TestInput = {
      tool: tool.trim(),
      args: args.args ?? {},
      session: bySession ? session.trim() : undefined,
      policySet: !bySession && chosenSet ? chosenSet : undefined,
      cwd: cwd.trim() || undefined,
    };
    const out = await test.run(input);
    if (out) setResult({ input, out });
  }

  return (
    <div className="grid-2">
      <form className="form" onSubmit={(e) => void submit(e)} noValidate aria-label="Rule tester">
        <div className="row">
          <div style={{ display: "grid", gap: ".25rem", alignContent: "start" }}>
            <label htmlFor={`${id}-tool`}>Tool</label>
            <input id={`${id}-tool`} value={tool} onChange={(e) => setTool(e.target.value)} placeholder="Bash" className="mono" maxLength={200} autoComplete="off" aria-invalid={toolError ? true : undefined} aria-describedby={`${id}-tool-err`} />
            <div id={`${id}-tool-err`}>{toolError ? <span className="error" role="alert" style={{ display: "block" }}>{toolError}</span> : null}</div>
          </div>
          <div style={{ display: "grid", gap: ".25rem", alignContent: "start" }}>
            <label htmlFor={`${id}-cwd`}>Working directory</label>
            <input id={`${id}-cwd`} value={cwd} onChange={(e) => setCwd(e.target.value)} placeholder={bySession ? "default: the session's" : "optional, e.g. /src/app"} className="mono" maxLength={4096} autoComplete="off" />
          </div>
        </div>
        <div style={{ display: "grid", gap: ".25rem" }}>
          <label htmlFor={`${id}-args`}>Arguments (JSON)</label>
          <textarea id={`${id}-args`} value={argsText} onChange={(e) => setArgsText(e.target.value)} rows={4} spellCheck={false} placeholder='{"command":"rm -rf /"}' aria-invalid={args.error ? true : undefined} aria-describedby={`${id}-args-err`} />
          <div id={`${id}-args-err`}>{args.error ? <span className="error" role="alert" style={{ display: "block" }}>{args.error}</span> : <span className="hint">Empty means no arguments.</span>}</div>
        </div>
        <div className="row">
          <div style={{ display: "grid", gap: ".25rem", alignContent: "start" }}>
            <label htmlFor={`${id}-session`}>Session</label>
            <input id={`${id}-session`} value={session} onChange={(e) => setSession(e.target.value)} placeholder="optional: id, prefix or name" className="mono" maxLength={100} autoComplete="off" aria-describedby={`${id}-session-hint`} />
            <span id={`${id}-session-hint`} className="hint">Decide as for this session: its sets, its cwd and its own policies.</span>
          </div>
          <div style={{ display: "grid", gap: ".25rem", alignContent: "start" }}>
            <label htmlFor={`${id}-set`}>Policy set</label>
            <select id={`${id}-set`} value={chosenSet} onChange={(e) => setPolicySet(e.target.value)} disabled={bySession} aria-describedby={`${id}-set-hint`}>
              <option value="">none (global policies only)</option>
              {sets.map((s) => (
                <option key={s.id} value={s.name}>{s.name}{s.isDefault ? " (default)" : ""}</option>
              ))}
            </select>
            <span id={`${id}-set-hint`} className="hint">{bySession ? "A session uses its own sets." : "As for a new session started with this set."}</span>
          </div>
        </div>
        <ErrorBox error={test.error} />
        <div><button type="submit" className="primary" disabled={test.pending}>Test</button></div>
      </form>
      <div aria-live="polite" data-testid="rule-test-result">
        {result ? <Verdict input={result.input} out={result.out} /> : <p className="muted">The decision and the rule that made it appear here.</p>}
      </div>
    </div>
  );
}

function Verdict({ input, out }: { input: TestInput; out: TestResult }) {
  const asFor = input.session ? `session ${input.session}` : input.policySet ? `a new session with policy set ${input.policySet}` : "a session without policy sets";
  return (
    <section className={`verdict ${out.action}`} aria-label="Decision">
      <p className="muted" style={{ margin: 0 }}>
        <span className="mono">{input.tool}</span> as for {asFor}:
      </p>
      <p className="action" data-testid="rule-test-decision">{out.action}</p>
      {out.policyName === null ? (
        <p style={{ margin: 0 }}>No rule matched: the default ({out.action}) applies.</p>
      ) : (
        <>
          <p style={{ margin: 0 }}>
            Decided by policy <strong>{out.policyName}</strong>, rule {out.ruleIndex ?? "?"} <span className="muted">(counted from 0)</span>
          </p>
          {out.rule !== null ? <pre className="rules-pre mono" aria-label="Matching rule">{JSON.stringify(out.rule, null, 2)}</pre> : null}
        </>
      )}
      {out.reason ? <p style={{ margin: 0 }}>Reason: {out.reason}</p> : null}
      <p className="hint" style={{ margin: 0 }}>{out.evaluated} polic{out.evaluated === 1 ? "y" : "ies"} evaluated.</p>
    </section>
  );
}
