"use client";
// Create or edit one env set. Values live in this form's state only until saved, then are cleared:
// the API never returns them. Editing uses envSets.update's `set`/`unset` (change some, keep the
// rest), so a variable you do not touch keeps its value without anyone re-typing it.
import { useId, useRef, useState, type FormEvent } from "react";
import { api } from "@/lib/trpc";
import { useAction } from "@/lib/hooks";
import type { Outputs } from "@/lib/types";
import { ErrorBox } from "@/components/ui";
import { FieldError } from "@/components/forms/FieldError";
import "./envsets.css";
import { byteLength, LIMITS, parseDotenv, setNameProblem, valueProblem, varNameProblem } from "./vars";

type EnvSetView = Outputs["envSets"]["list"][number];

interface NewRow { key: number; name: string; value: string }
interface OldRow { name: string; masked: string; newValue: string; remove: boolean }


export function EnvSetForm({ existing, onDone, onCancel }: { existing?: EnvSetView; onDone: (message: string) => void; onCancel?: () => void }) {
  const uid = useId();
  const nextKey = useRef(1);
  const blank = (): NewRow => ({ key: nextKey.current++, name: "", value: "" });
  const [name, setName] = useState(existing?.name ?? "");
  const [description, setDescription] = useState(existing?.description ?? "");
  const [old, setOld] = useState<OldRow[]>(() => (existing ? existing.names.map((n) => ({ name: n, masked: existing.masked[n] ?? "****", newValue: "", remove: false })) : []));
  const [rows, setRows] = useState<NewRow[]>(() => (existing ? [] : [blank()]));
  const [submitted, setSubmitted] = useState(false);
  const [showImport, setShowImport] = useState(false);
  const [dotenv, setDotenv] = useState("");
  const [importResult, setImportResult] = useState<{ added: number; updated: number; problems: { line: number; message: string }[] } | null>(null);
  const save = useAction(async () => {
    const filled = rows.filter((r) => r.name !== "" || r.value !== "");
    if (!existing) {
      const vars = Object.fromEntries(filled.map((r) => [r.name, r.value]));
      return api.envSets.create.mutate({ name: name.trim(), description, vars });
    }
    const set: Record<string, string> = {};
    for (const o of old) if (!o.remove && o.newValue !== "") set[o.name] = o.newValue;
    for (const r of filled) set[r.name] = r.value;
    const unset = old.filter((o) => o.remove).map((o) => o.name);
    return api.envSets.update.mutate({
      envSet: existing.id,
      ...(name.trim() !== existing.name ? { name: name.trim() } : {}),
      ...(description !== existing.description ? { description } : {}),
      ...(Object.keys(set).length ? { set } : {}),
      ...(unset.length ? { unset } : {}),
    });
  });

  // ---- validation (same rules as the server) ----
  const nameErr = submitted || name !== "" ? setNameProblem(name) : null;
  const descErr = description.length > LIMITS.descriptionMax ? `At most ${LIMITS.descriptionMax} characters.` : null;
  const kept = new Set(old.filter((o) => !o.remove).map((o) => o.name));
  const counts = new Map<string, number>();
  for (const r of rows) if (r.name !== "") counts.set(r.name, (counts.get(r.name) ?? 0) + 1);
  const rowErrs = rows.map((r) => {
    const empty = r.name === "" && r.value === "";
    const nameProblem = empty ? null : r.name === "" ? (submitted ? "Enter a variable name." : null) : varNameProblem(r.name)
      ?? ((counts.get(r.name) ?? 0) > 1 ? "This name is in the list twice." : kept.has(r.name) ? "Already in this set: set its new value above instead." : null);
    return { name: nameProblem, value: valueProblem(r.value) };
  });
  const oldErrs = old.map((o) => (o.remove ? null : valueProblem(o.newValue)));
  const finalNames = new Set([...kept, ...rows.filter((r) => r.name !== "").map((r) => r.name)]);
  let total = 0;
  for (const o of old) if (!o.remove && o.newValue !== "") total += byteLength(o.newValue) + byteLength(o.name);
  for (const r of rows) total += byteLength(r.value) + byteLength(r.name);
  const setErr = finalNames.size > LIMITS.varsMax
    ? `An env set holds at most ${LIMITS.varsMax} variables (this would have ${finalNames.size}).`
    : total > LIMITS.totalBytesMax ? `Names and values add up to ${Math.ceil(total / 1024)} KiB; an env set holds at most 256 KiB.` : null;
  const invalid = Boolean(setNameProblem(name) || descErr || setErr || rowErrs.some((e) => e.name || e.value) || rows.some((r) => r.name === "" && r.value !== "") || oldErrs.some(Boolean));
  const changes = existing
    ? name.trim() !== existing.name || description !== existing.description || old.some((o) => o.remove || o.newValue !== "") || rows.some((r) => r.name !== "" || r.value !== "")
    : true;

  function updateRow(key: number, patch: Partial<NewRow>) {
    setRows((rs) => rs.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  }
  function updateOld(n: string, patch: Partial<OldRow>) {
    setOld((os) => os.map((o) => (o.name === n ? { ...o, ...patch } : o)));
  }

  function runImport() {
    const parsed = parseDotenv(dotenv);
    let added = 0;
    let updated = 0;
    const nextOld = [...old];
    const nextRows = rows.filter((r) => r.name !== "" || r.value !== "");
    for (const v of parsed.vars) {
      const o = nextOld.findIndex((x) => x.name === v.name);
      if (o >= 0) {
        nextOld[o] = { ...nextOld[o]!, newValue: v.value, remove: false };
        updated++;
        continue;
      }
      const r = nextRows.findIndex((x) => x.name === v.name);
      if (r >= 0) {
        nextRows[r] = { ...nextRows[r]!, value: v.value };
        updated++;
      } else {
        nextRows.push({ key: nextKey.current++, name: v.name, value: v.value });
        added++;
      }
    }
    setOld(nextOld);
    setRows(nextRows.length || existing ? nextRows : [blank()]);
    setImportResult({ added, updated, problems: parsed.problems });
    // The text holds secrets: drop it once everything in it is in the rows.
    if (parsed.problems.length === 0) {
      setDotenv("");
      setShowImport(false);
    }
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    setSubmitted(true);
    if (invalid || !changes) return;
    const result = await save.run();
    if (!result) return;
    // Write-only: forget every value typed here.
    setRows(existing ? [] : [blank()]);
    setOld([]);
    setDotenv("");
    setImportResult(null);
    setSubmitted(false);
    if (!existing) {
      setName("");
      setDescription("");
    }
    onDone(existing ? `Saved env set ${result.name} (${result.names.length} variables). Values are not shown again.` : `Created env set ${result.name} with ${result.names.length} variables. Values are not shown again.`);
  }

  const title = existing ? `Edit ${existing.name}` : "New env set";
  return (
    <form className="form envset-form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${uid}-title`}>
      <h2 id={`${uid}-title`} tabIndex={-1} style={{ margin: 0 }}>{title}</h2>
      <div className="row">
        <div className="field">
          <label>Name
            <input value={name} onChange={(e) => setName(e.target.value)} aria-invalid={nameErr ? true : undefined} aria-describedby={nameErr ? `${uid}-name-err` : undefined} autoComplete="off" placeholder="prod-api-keys" />
          </label>
          <FieldError id={`${uid}-name-err`} text={nameErr} />
        </div>
        <div className="field">
          <label>Description
            <input value={description} onChange={(e) => setDescription(e.target.value)} aria-invalid={descErr ? true : undefined} aria-describedby={descErr ? `${uid}-desc-err` : undefined} />
          </label>
          <FieldError id={`${uid}-desc-err`} text={descErr} />
        </div>
      </div>

      {existing ? (
        <fieldset className="envset-vars">
          <legend>Variables in this set</legend>
          {existing.error ? <p className="warning">The current values cannot be read with this master key ({existing.error}), so variables cannot be changed one by one. Delete the set and create it again.</p> : null}
          {old.length === 0 ? <p className="muted">None yet.</p> : null}
          <p className="hint">Leave “New value” empty to keep the current value.</p>
          {old.map((o, i) => (
            <div key={o.name} className={`envset-row${o.remove ? " removed" : ""}`} role="group" aria-label={`Variable ${o.name}`}>
              <div className="envset-name">
                <span className="mono">{o.name}</span>
                <span className="muted mono" aria-label="current value, masked">{o.masked}</span>
                {o.remove ? <span className="tag">will be removed</span> : null}
              </div>
              <div className="field">
                <label>New value
                  <input type="password" autoComplete="off" value={o.newValue} disabled={o.remove} onChange={(e) => updateOld(o.name, { newValue: e.target.value })} aria-invalid={oldErrs[i] ? true : undefined} aria-describedby={oldErrs[i] ? `${uid}-old-${i}` : undefined} />
                </label>
                <FieldError id={`${uid}-old-${i}`} text={oldErrs[i] ?? null} />
              </div>
              <button type="button" className="small" onClick={() => updateOld(o.name, { remove: !o.remove, newValue: "" })}>{o.remove ? "Keep" : "Remove"}</button>
            </div>
          ))}
        </fieldset>
      ) : null}

      <fieldset className="envset-vars">
        <legend>{existing ? "Add variables" : "Variables"}</legend>
        {rows.length === 0 ? <p className="muted">No new variables.</p> : null}
        {rows.map((r, i) => (
          <div key={r.key} className="envset-row" role="group" aria-label={`New variable ${i + 1}`}>
            <div className="field">
              <label>Variable name
                <input className="mono" value={r.name} autoComplete="off" spellCheck={false} onChange={(e) => updateRow(r.key, { name: e.target.value.trim() })} aria-invalid={rowErrs[i]?.name ? true : undefined} aria-describedby={rowErrs[i]?.name ? `${uid}-n-${r.key}` : undefined} placeholder="API_KEY" />
              </label>
              <FieldError id={`${uid}-n-${r.key}`} text={rowErrs[i]?.name ?? null} />
            </div>
            <div className="field">
              <label>Value
                <input type="password" autoComplete="off" value={r.value} onChange={(e) => updateRow(r.key, { value: e.target.value })} aria-invalid={rowErrs[i]?.value ? true : undefined} aria-describedby={rowErrs[i]?.value ? `${uid}-v-${r.key}` : undefined} />
              </label>
              <FieldError id={`${uid}-v-${r.key}`} text={rowErrs[i]?.value ?? null} />
            </div>
            <button type="button" className="small" onClick={() => setRows((rs) => rs.filter((x) => x.key !== r.key))}>Remove</button>
          </div>
        ))}
        <div className="envset-actions">
          <button type="button" className="small" onClick={() => setRows((rs) => [...rs, blank()])}>Add variable</button>
          <button type="button" className="small" aria-expanded={showImport} aria-controls={`${uid}-import`} onClick={() => setShowImport((v) => !v)}>Import from dotenv</button>
        </div>
        {showImport ? (
          <div id={`${uid}-import`} className="envset-import">
            <label>Dotenv
              <textarea rows={6} value={dotenv} onChange={(e) => setDotenv(e.target.value)} spellCheck={false} autoComplete="off" placeholder={"# comments are skipped\nAPI_KEY=abc123\nexport REGION='eu-west-1'\nGREETING=\"hello\\nworld\""} />
            </label>
            <p className="hint">Parsed here in the browser: NAME=value lines, optional “export”, quotes and # comments. Existing names get the new value.</p>
            <div><button type="button" className="small" onClick={runImport} disabled={dotenv.trim() === ""}>Import variables</button></div>
          </div>
        ) : null}
        {importResult ? (
          <div aria-live="polite">
            <p className="hint">Imported {importResult.added} new and {importResult.updated} changed variable{importResult.added + importResult.updated === 1 ? "" : "s"}.</p>
            {importResult.problems.length ? (
              <ul className="error" role="alert" aria-label="Dotenv problems">
                {importResult.problems.map((p) => <li key={`${p.line}-${p.message}`}>Line {p.line}: {p.message}</li>)}
              </ul>
            ) : null}
          </div>
        ) : null}
      </fieldset>

      {setErr ? <p className="error" role="alert">{setErr}</p> : null}
      {submitted && invalid && !setErr ? <p className="error" role="alert">Fix the fields marked above, then save again.</p> : null}
      {existing && submitted && !changes ? <p className="notice" role="status">Nothing changed.</p> : null}
      <ErrorBox error={save.error} />
      <div className="envset-actions">
        <button className="primary" type="submit" disabled={save.pending}>{existing ? "Save changes" : "Create env set"}</button>
        {onCancel ? <button type="button" onClick={onCancel} disabled={save.pending}>Cancel</button> : null}
      </div>
    </form>
  );
}
