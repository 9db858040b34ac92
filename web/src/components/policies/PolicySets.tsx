"use client";
// Policy sets: named groups of policies a session starts with. Admins create, rename, delete them,
// choose the default for new sessions, and add or remove member policies. The list is live
// (policies.live, from the page): results show up there; here only a notice is added.
import { useId, useState, type FormEvent } from "react";
import { POLICY_LIMITS } from "@codepiper/core";
import { api } from "@/lib/trpc";
import { useAction } from "@/lib/hooks";
import type { Outputs } from "@/lib/types";
import { ConfirmButton, Empty, ErrorBox } from "@/components/ui";
import type { PolicyView } from "./PolicyForm";

type SetView = Outputs["policySets"]["list"][number];
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function setNameError(name: string): string | null {
  const n = name.trim();
  if (!n) return "Give the set a name.";
  if (n.length > POLICY_LIMITS.nameMax) return `At most ${POLICY_LIMITS.nameMax} characters.`;
  if (!NAME_RE.test(n)) return "Use letters, digits, '.', '_' and '-', starting with a letter or digit.";
  return null;
}

export function PolicySets({ sets, policies, admin, loading }: { sets: SetView[] | undefined; policies: PolicyView[]; admin: boolean; loading: boolean }) {
  const [creating, setCreating] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const changed = (message: string) => setNotice(message);
  return (
    <>
      <div className="toolbar" style={{ marginTop: "1.5rem", marginBottom: ".5rem" }}>
        <h2 style={{ margin: 0 }}>Policy sets</h2>
        <span className="spacer" />
        {admin && !creating ? <button type="button" onClick={() => { setCreating(true); setNotice(null); }}>New policy set</button> : null}
      </div>
      <p className="hint">
        A session starts with the sets given to <code>codepiper start --policy-set</code>, or the default set. Set-scoped policies apply only through a set; global ones apply everywhere anyway.
      </p>
      <div aria-live="polite">{notice ? <p className="notice">{notice}</p> : null}</div>
      {creating ? (
        <div className="panel">
          <h3 style={{ marginTop: 0 }}>New policy set</h3>
          <SetForm set={null} policies={policies} onDone={(name) => { setCreating(false); changed(`Created policy set ${name}.`); }} onCancel={() => setCreating(false)} />
        </div>
      ) : null}
      {sets === undefined ? (
        loading ? <p className="muted">Loading policy sets…</p> : null
      ) : sets.length === 0 ? (
        <Empty>No policy sets yet.{admin ? " Create one to group policies for a kind of work." : ""}</Empty>
      ) : (
        <div className="table-wrap">
          <table aria-label="Policy sets">
            <thead>
              <tr>
                <th>Set</th><th>Policies</th>{admin ? <th>Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {sets.map((s) => (
                <SetRow key={s.id} set={s} policies={policies} admin={admin} onChanged={changed} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function SetRow({ set, policies, admin, onChanged }: { set: SetView; policies: PolicyView[]; admin: boolean; onChanged: (message: string) => void }) {
  const id = useId();
  const [editing, setEditing] = useState(false);
  const [adding, setAdding] = useState("");
  const members = useAction((change: { add?: string[]; remove?: string[] }) => api.policySets.members.mutate({ set: set.id, add: change.add ?? [], remove: change.remove ?? [] }));
  const makeDefault = useAction((target: string | null) => api.policySets.setDefault.mutate({ set: target }));
  const remove = useAction(() => api.policySets.delete.mutate({ set: set.id }));
  const candidates = policies.filter((p) => !set.policies.includes(p.name));
  const pending = members.pending || makeDefault.pending || remove.pending;

  async function add(e: FormEvent) {
    e.preventDefault();
    if (!adding) return;
    const res = await members.run({ add: [adding] });
    if (res) {
      setAdding("");
      onChanged(`Added ${adding} to ${set.name}.`);
    }
  }

  return (
    <tr data-set={set.name}>
      <td>
        {editing ? (
          <SetForm set={set} policies={policies} onDone={(name) => { setEditing(false); onChanged(`Saved policy set ${name}.`); }} onCancel={() => setEditing(false)} />
        ) : (
          <>
            <strong>{set.name}</strong> {set.isDefault ? <span className="tag">default for new sessions</span> : null}
            {set.description ? <div className="muted">{set.description}</div> : null}
          </>
        )}
      </td>
      <td>
        {set.policies.length === 0 ? <span className="muted">no policies</span> : null}
        {set.policies.map((p) => (
          <span key={p} className="member">
            <span className="tag mono">{p}</span>
            {admin ? (
              <button type="button" className="small" aria-label={`Remove ${p} from ${set.name}`} disabled={pending} onClick={() => void members.run({ remove: [p] }).then((r) => r && onChanged(`Removed ${p} from ${set.name}.`))}>
                Remove
              </button>
            ) : null}
          </span>
        ))}
        {admin ? (
          <form className="inline-form" onSubmit={(e) => void add(e)} style={{ marginTop: ".35rem" }}>
            <label htmlFor={`${id}-add`} className="hint">Add policy</label>
            <select id={`${id}-add`} value={adding} onChange={(e) => setAdding(e.target.value)} disabled={candidates.length === 0}>
              <option value="">{candidates.length === 0 ? "every policy is in it" : "choose a policy…"}</option>
              {candidates.map((p) => (
                <option key={p.id} value={p.name}>{p.name} ({p.scope})</option>
              ))}
            </select>
            <button type="submit" className="small" disabled={!adding || pending}>Add</button>
          </form>
        ) : null}
        <ErrorBox error={members.error} />
      </td>
      {admin ? (
        <td>
          <div className="actions">
            {set.isDefault ? (
              <button type="button" className="small" disabled={pending} onClick={() => void makeDefault.run(null).then((r) => r && onChanged(`${set.name} is no longer the default: new sessions start without a set unless one is given.`))}>Clear default</button>
            ) : (
              <button type="button" className="small" disabled={pending} onClick={() => void makeDefault.run(set.id).then((r) => r && onChanged(`${set.name} is now the default set for new sessions.`))}>Make default</button>
            )}
            {!editing ? <button type="button" className="small" aria-label={`Edit ${set.name}`} onClick={() => setEditing(true)}>Edit</button> : null}
            <ConfirmButton className="danger small" question={`Delete policy set ${set.name}?`} disabled={pending} onConfirm={() => void remove.run().then((r) => r && onChanged(`Deleted policy set ${r.name}.`))}>Delete</ConfirmButton>
          </div>
          <ErrorBox error={makeDefault.error ?? remove.error} />
        </td>
      ) : null}
    </tr>
  );
}

/** Create a set (name, description, first members) or rename / re-describe one. */
function SetForm({ set, policies, onDone, onCancel }: { set: SetView | null; policies: PolicyView[]; onDone: (name: string) => void; onCancel: () => void }) {
  const id = useId();
  const [name, setName] = useState(set?.name ?? "");
  const [description, setDescription] = useState(set?.description ?? "");
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set());
  const [tried, setTried] = useState(false);
  const err = setNameError(name);
  const save = useAction(async () => {
    if (!set) return api.policySets.create.mutate({ name: name.trim(), description, policies: [...chosen] });
    return api.policySets.update.mutate({ set: set.id, name: name.trim() !== set.name ? name.trim() : undefined, description: description !== set.description ? description : undefined });
  });
  async function submit(e: FormEvent) {
    e.preventDefault();
    setTried(true);
    if (err) return;
    const res = await save.run();
    if (res) onDone(res.name);
  }
  return (
    <form className="form" onSubmit={(e) => void submit(e)} noValidate aria-label={set ? `Edit policy set ${set.name}` : "New policy set"}>
      <div className="row">
        <div style={{ display: "grid", gap: ".25rem", alignContent: "start" }}>
          <label htmlFor={`${id}-name`}>Set name</label>
          <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} maxLength={POLICY_LIMITS.nameMax} autoComplete="off" autoFocus placeholder="ci" aria-invalid={tried && err ? true : undefined} aria-describedby={`${id}-name-err`} />
          <div id={`${id}-name-err`}>{tried && err ? <span className="error" role="alert" style={{ display: "block" }}>{err}</span> : null}</div>
        </div>
        <div style={{ display: "grid", gap: ".25rem", alignContent: "start" }}>
          <label htmlFor={`${id}-desc`}>Set description</label>
          <input id={`${id}-desc`} value={description} onChange={(e) => setDescription(e.target.value)} maxLength={POLICY_LIMITS.descriptionMax} autoComplete="off" />
        </div>
      </div>
      {!set ? (
        <fieldset>
          <legend>Policies in this set</legend>
          {policies.length === 0 ? <span className="muted">No policies yet: add them later.</span> : null}
          <div className="checks">
            {policies.map((p) => (
              <label key={p.id} className="check">
                <input
                  type="checkbox"
                  checked={chosen.has(p.name)}
                  onChange={(e) => {
                    const next = new Set(chosen);
                    if (e.target.checked) next.add(p.name);
                    else next.delete(p.name);
                    setChosen(next);
                  }}
                />
                <span className="mono">{p.name}</span>
              </label>
            ))}
          </div>
        </fieldset>
      ) : null}
      <ErrorBox error={save.error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={save.pending}>{set ? "Save policy set" : "Create policy set"}</button>
        <button type="button" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
