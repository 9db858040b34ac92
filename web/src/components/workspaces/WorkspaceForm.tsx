"use client";
// Create or edit a workspace, with exactly the fields of workspaces.create/update.
import { useId, useState, type FormEvent } from "react";
import { api } from "@/lib/trpc";
import { useAction } from "@/lib/hooks";
import type { Inputs, Outputs } from "@/lib/types";
import { ErrorBox } from "@/components/ui";
import { FieldError } from "@/components/forms/FieldError";

type WorkspaceView = Outputs["workspaces"]["list"][number];
type Provider = NonNullable<Inputs["workspaces"]["create"]["provider"]>;
const PROVIDERS: { id: Provider; label: string }[] = [
  { id: "claude-code", label: "Claude Code" },
  { id: "codex", label: "Codex" },
];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const LIMITS = { nameMax: 100, descriptionMax: 2000, pathMax: 4096, envSetsMax: 20 };

export interface WorkspaceChoices {
  hosts: Outputs["hosts"]["list"];
  envSets: Outputs["envSets"]["list"];
  policySets: Outputs["policySets"]["list"];
}

function nameProblem(n: string): string | null {
  const t = n.trim();
  if (t === "") return "Enter a name.";
  if (t.length > LIMITS.nameMax) return `At most ${LIMITS.nameMax} characters.`;
  return NAME.test(t) ? null : "Use letters, digits, '.', '_' and '-', starting with a letter or digit.";
}

function pathProblem(p: string): string | null {
  if (p === "") return "Enter the directory on the host.";
  if (!p.startsWith("/")) return "Must be an absolute path (start with /).";
  if (p.includes("\0")) return "Must not contain a NUL byte.";
  return p.length > LIMITS.pathMax ? `At most ${LIMITS.pathMax} characters.` : null;
}

export function WorkspaceForm({ existing, choices, onDone, onCancel }: { existing?: WorkspaceView; choices: WorkspaceChoices; onDone: (message: string) => void; onCancel?: () => void }) {
  const uid = useId();
  const knownSets = new Set(choices.envSets.map((e) => e.name));
  const missingSets = existing ? existing.envSets.filter((e) => !knownSets.has(e)) : [];
  const [name, setName] = useState(existing?.name ?? "");
  const [description, setDescription] = useState(existing?.description ?? "");
  const [host, setHost] = useState(existing?.host ?? "");
  const [path, setPath] = useState(existing?.path ?? "");
  const [provider, setProvider] = useState<Provider | "">((existing?.provider as Provider | null) ?? "");
  const [envSets, setEnvSets] = useState<string[]>(existing ? existing.envSets.filter((e) => knownSets.has(e)) : []);
  const [policySet, setPolicySet] = useState(existing?.policySet ?? "");
  const [validate, setValidate] = useState(false);
  const [submitted, setSubmitted] = useState(false);

  const save = useAction(async () => {
    if (!existing) {
      return api.workspaces.create.mutate({
        name: name.trim(), description, host, path, envSets, validate,
        ...(provider ? { provider } : {}),
        ...(policySet ? { policySet } : {}),
      });
    }
    const sameSets = envSets.length === existing.envSets.length && envSets.every((e, i) => e === existing.envSets[i]);
    return api.workspaces.update.mutate({
      workspace: existing.id,
      validate,
      ...(name.trim() !== existing.name ? { name: name.trim() } : {}),
      ...(description !== existing.description ? { description } : {}),
      ...(host !== existing.host ? { host } : {}),
      ...(path !== existing.path ? { path } : {}),
      ...((provider || null) !== existing.provider ? { provider: provider || null } : {}),
      ...(!sameSets ? { envSets } : {}),
      ...((policySet || null) !== existing.policySet ? { policySet: policySet || null } : {}),
    });
  });

  const errs = {
    name: submitted || name !== "" ? nameProblem(name) : null,
    description: description.length > LIMITS.descriptionMax ? `At most ${LIMITS.descriptionMax} characters.` : null,
    host: submitted && host === "" ? "Choose a host." : null,
    path: submitted || path !== "" ? pathProblem(path) : null,
    envSets: envSets.length > LIMITS.envSetsMax ? `At most ${LIMITS.envSetsMax} env sets.` : null,
  };
  const invalid = Boolean(nameProblem(name) || errs.description || host === "" || pathProblem(path) || errs.envSets);

  const hostOptions = choices.hosts.filter((h) => !h.revoked || h.name === host);
  const selectedHost = choices.hosts.find((h) => h.name === host);
  const hostKnown = host === "" || Boolean(selectedHost);
  const installed = new Set(selectedHost?.providers.map((p) => p.id) ?? []);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setSubmitted(true);
    if (invalid) return;
    const result = await save.run();
    if (!result) return;
    setSubmitted(false);
    if (!existing) {
      setName(""); setDescription(""); setPath(""); setProvider(""); setEnvSets([]); setPolicySet(""); setValidate(false);
    }
    onDone(existing ? `Saved workspace ${result.name}.` : `Created workspace ${result.name}.`);
  }

  const d = (k: keyof typeof errs) => (errs[k] ? { "aria-invalid": true as const, "aria-describedby": `${uid}-${k}` } : {});
  return (
    <form className="form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${uid}-title`}>
      <h2 id={`${uid}-title`} tabIndex={-1} style={{ margin: 0 }}>{existing ? `Edit ${existing.name}` : "New workspace"}</h2>
      <div className="row">
        <div className="field">
          <label>Name<input value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" placeholder="api-repo" {...d("name")} /></label>
          <FieldError id={`${uid}-name`} text={errs.name} />
        </div>
        <div className="field">
          <label>Description<input value={description} onChange={(e) => setDescription(e.target.value)} {...d("description")} /></label>
          <FieldError id={`${uid}-description`} text={errs.description} />
        </div>
      </div>
      <div className="row">
        <div className="field">
          <label>Host
            <select value={host} onChange={(e) => setHost(e.target.value)} {...d("host")}>
              <option value="">Choose a host…</option>
              {!hostKnown ? <option value={host}>{host} (unknown)</option> : null}
              {hostOptions.map((h) => <option key={h.id} value={h.name}>{h.name} ({h.revoked ? "revoked" : h.online ? "online" : "offline"})</option>)}
            </select>
          </label>
          <FieldError id={`${uid}-host`} text={errs.host} />
          {choices.hosts.length === 0 ? <span className="hint">No hosts enrolled yet.</span> : null}
        </div>
        <div className="field">
          <label>Directory<input className="mono" value={path} onChange={(e) => setPath(e.target.value)} placeholder="/home/dev/api" autoComplete="off" spellCheck={false} {...d("path")} /></label>
          <FieldError id={`${uid}-path`} text={errs.path} />
        </div>
        <div className="field">
          <label>Default provider
            <select value={provider} onChange={(e) => setProvider(e.target.value as Provider | "")}>
              <option value="">None (the host&apos;s first installed CLI)</option>
              {PROVIDERS.map((p) => <option key={p.id} value={p.id}>{p.label}{selectedHost && !installed.has(p.id) ? " (not installed on this host)" : ""}</option>)}
            </select>
          </label>
        </div>
      </div>
      <fieldset className="plain" aria-describedby={errs.envSets ? `${uid}-envSets` : undefined}>
        <legend>Env sets</legend>
        {choices.envSets.length === 0 ? <p className="muted" style={{ margin: 0 }}>No env sets exist yet.</p> : null}
        <div className="checks">
          {choices.envSets.map((e) => (
            <label key={e.id} className="check">
              <input type="checkbox" checked={envSets.includes(e.name)} onChange={(ev) => setEnvSets((cur) => (ev.target.checked ? [...cur, e.name] : cur.filter((x) => x !== e.name)))} />
              <span className="mono">{e.name}</span>
            </label>
          ))}
        </div>
        {envSets.length > 1 ? <p className="hint" style={{ margin: ".4rem 0 0" }}>Applied in this order, a later one wins for the same name: {envSets.join(" → ")}</p> : null}
        {missingSets.length ? <p className="warning">No longer existing (deleted): {missingSets.join(", ")}. Saving drops them.</p> : null}
        <FieldError id={`${uid}-envSets`} text={errs.envSets} />
      </fieldset>
      <div className="row">
        <div className="field">
          <label>Policy set
            <select value={policySet} onChange={(e) => setPolicySet(e.target.value)}>
              <option value="">None</option>
              {existing?.policySet && !choices.policySets.some((p) => p.name === existing.policySet) ? <option value={existing.policySet}>{existing.policySet} (unknown)</option> : null}
              {choices.policySets.map((p) => <option key={p.id} value={p.name}>{p.name}{p.isDefault ? " (default)" : ""}</option>)}
            </select>
          </label>
        </div>
      </div>
      <label className="check">
        <input type="checkbox" checked={validate} onChange={(e) => setValidate(e.target.checked)} />
        Check the directory on the host now (the host must be online)
      </label>
      {submitted && invalid ? <p className="error" role="alert">Fix the fields marked above, then save again.</p> : null}
      <ErrorBox error={save.error} />
      <div className="button-row">
        <button className="primary" type="submit" disabled={save.pending}>{save.pending ? "Saving…" : existing ? "Save changes" : "Create workspace"}</button>
        {onCancel ? <button type="button" onClick={onCancel} disabled={save.pending}>Cancel</button> : null}
      </div>
    </form>
  );
}
