"use client";
import Link from "next/link";
import { useRef, useState } from "react";
import { api } from "@/lib/trpc";
import type { Outputs } from "@/lib/types";
import { useAction, useLive } from "@/lib/hooks";
import { shortId } from "@/lib/format";
import { useMe } from "@/components/Shell";
import { Empty, ErrorBox, PageTitle, Status, Time } from "@/components/ui";
import { PolicyForm, type PolicyView } from "@/components/policies/PolicyForm";
import { PolicySets } from "@/components/policies/PolicySets";
import { RuleTester } from "@/components/policies/RuleTester";
import "./policies.css";

type LiveView = Outputs["policies"]["list"] & { sets: Outputs["policySets"]["list"] };

function Scope({ p }: { p: PolicyView }) {
  if (p.scope === "session" && p.sessionId) {
    return <>session <Link className="mono" href={`/session/?id=${encodeURIComponent(p.sessionId)}`}>{shortId(p.sessionId)}</Link></>;
  }
  if (p.scope === "set") {
    return p.sets.length > 0 ? <>set: {p.sets.map((s) => <span key={s} className="tag">{s}</span>)}</> : <>set <span className="warning" style={{ display: "inline-block", padding: "0 .4rem", margin: 0 }}>in no set: applies nowhere yet</span></>;
  }
  return <>{p.scope}</>;
}

/**
 * Permission policies: what agents may do (allow), may not (deny), or must ask a person about
 * (ask), with the default for calls no rule matches, a tester, and the policy sets sessions start
 * with. Admins edit; everyone else reads and tests. Live (policies.live): another admin's changes
 * appear at once; an open editor keeps what the user typed (it edits the policy as it was when
 * opened, and says so if that policy changed or went away meanwhile).
 */
export default function PoliciesPage() {
  const me = useMe();
  const admin = me.role === "admin";
  const live = useLive<LiveView>((h) => api.policies.live.subscribe(undefined, h), []);
  const list = live.data;
  // null: no editor open; "new": creating; otherwise the id of the policy being edited.
  const [editing, setEditing] = useState<string | null>(null);
  // The policy as it was when its editor opened: the form edits (and diffs against) this snapshot,
  // so a refresh of the list never resets or re-targets what the user is typing.
  const [opened, setOpened] = useState<PolicyView | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const editorRef = useRef<HTMLDivElement>(null);
  const setDefault = useAction((action: "ask" | "deny") => api.policies.setDefault.mutate({ action }));
  const policies = list?.policies ?? [];
  const current = editing && editing !== "new" ? opened : null;
  const latest = current ? policies.find((p) => p.id === current.id) : undefined;
  const staleNote = !current || !list ? null : !latest ? "Someone else deleted this policy meanwhile: saving will fail." : latest.updatedAt !== current.updatedAt ? "Someone else changed this policy since you opened it: saving sends only the fields you changed." : null;

  function open(target: string) {
    setEditing(target);
    setOpened(target === "new" ? null : (policies.find((p) => p.id === target) ?? null));
    setNotice(null);
    requestAnimationFrame(() => editorRef.current?.scrollIntoView({ block: "nearest" }));
  }
  function done(message: string) {
    setEditing(null);
    setNotice(message);
  }
  async function changeDefault(action: "ask" | "deny") {
    const res = await setDefault.run(action);
    if (res) {
      setNotice(`Default action is now ${res.defaultAction}: calls no rule matches are ${res.defaultAction === "ask" ? "asked about" : "denied"}.`);
    }
  }

  return (
    <>
      <PageTitle actions={admin && editing === null ? <button type="button" className="primary" onClick={() => open("new")}>New policy</button> : null}>Policies</PageTitle>
      <p className="hint">
        Every tool call an agent makes is checked against these, highest priority first; the first matching rule decides: <strong>allow</strong>, <strong>deny</strong>, or <strong>ask</strong> a person (on the <Link href="/approvals/">Approvals</Link> page). Hosts get every change at once.
        {admin ? "" : " Only admins change policies; you can read and test them."}
      </p>

      <div className="panel toolbar" style={{ alignItems: "center" }}>
        {list ? (
          admin ? (
            <span style={{ display: "inline-flex", alignItems: "center", gap: ".5rem" }}>
              <label htmlFor="default-action" style={{ color: "var(--text)" }}>Default action</label>
              <select id="default-action" value={list.defaultAction} onChange={(e) => void changeDefault(e.target.value as "ask" | "deny")} disabled={setDefault.pending} aria-describedby="default-action-hint">
                <option value="ask">ask</option>
                <option value="deny">deny</option>
              </select>
            </span>
          ) : (
            <span>Default action: <Status value={list.defaultAction} /></span>
          )
        ) : (
          <span className="muted">Default action: …</span>
        )}
        <span id="default-action-hint" className="hint">When no rule matches: ask a person, or deny. Never allow.</span>
        <span className="spacer" />
        {list ? <span className="hint">Policy version {list.version}</span> : null}
      </div>
      <ErrorBox error={setDefault.error} />
      <div aria-live="polite">{notice ? <p className="notice">{notice}</p> : null}</div>

      {editing !== null && admin ? (
        <div className="panel" ref={editorRef}>
          <h2 style={{ marginTop: 0 }}>{current ? `Edit policy ${current.name}` : "New policy"}</h2>
          {staleNote ? <p className="warning" role="status">{staleNote}</p> : null}
          <PolicyForm
            key={editing}
            policy={current}
            onSaved={(name) => done(current ? `Saved policy ${name}.` : `Created policy ${name}.`)}
            onDeleted={(name) => done(`Deleted policy ${name}.`)}
            onCancel={() => setEditing(null)}
          />
        </div>
      ) : null}

      <ErrorBox error={live.error} />
      {!list && !live.error ? <p className="muted">Loading policies…</p> : null}
      {list && policies.length === 0 ? (
        <Empty>No policies yet: every tool call gets the default action ({list.defaultAction}).{admin ? " Create the first policy." : ""}</Empty>
      ) : null}
      {policies.length > 0 ? (
        <div className="table-wrap">
          <table aria-label="Policies">
            <thead>
              <tr>
                <th>Name</th><th>Enabled</th><th className="num">Priority</th><th>Scope</th><th>Rules</th><th className="hide-narrow">Description</th><th className="hide-narrow">Updated</th>{admin ? <th><span className="hide-narrow">Actions</span></th> : null}
              </tr>
            </thead>
            <tbody>
              {policies.map((p) => (
                <tr key={p.id} data-policy={p.name} aria-current={editing === p.id ? "true" : undefined}>
                  <td className="mono">{p.name}</td>
                  <td><Status value={p.enabled ? "active" : "stopped"} label={p.enabled ? "enabled" : "disabled"} /></td>
                  <td className="num">{p.priority}</td>
                  <td><Scope p={p} /></td>
                  <td>
                    <details>
                      <summary>{p.rules.length} rule{p.rules.length === 1 ? "" : "s"}</summary>
                      <pre className="rules-pre mono" tabIndex={0} aria-label={`Rule list of ${p.name}`}>{JSON.stringify(p.rules, null, 2)}</pre>
                    </details>
                  </td>
                  <td className="hide-narrow">{p.description || <span className="muted">—</span>}</td>
                  <td className="hide-narrow"><Time iso={p.updatedAt} /></td>
                  {admin ? (
                    <td>
                      <button type="button" className="small" aria-label={`Edit ${p.name}`} onClick={() => open(p.id)} disabled={editing === p.id}>Edit</button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}

      <h2>Rule tester</h2>
      <div className="panel">
        <RuleTester sets={list?.sets ?? []} />
      </div>

      <PolicySets sets={list?.sets} policies={policies} admin={admin} loading={!list && !live.error} />
    </>
  );
}
