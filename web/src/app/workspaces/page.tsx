"use client";
import Link from "next/link";
import { useEffect, useRef, useState } from "react";
import { api } from "@/lib/trpc";
import { useAction, useQuery } from "@/lib/hooks";
import type { Outputs } from "@/lib/types";
import { canOperate, useMe } from "@/components/Shell";
import { ConfirmButton, Empty, ErrorBox, PageTitle, Time } from "@/components/ui";
import { WorkspaceForm } from "@/components/workspaces/WorkspaceForm";

type WorkspaceView = Outputs["workspaces"]["list"][number];

/** Named workspaces: a host, a directory and the defaults a session started there gets. */
export default function WorkspacesPage() {
  const me = useMe();
  const admin = me.role === "admin";
  const list = useQuery(() => api.workspaces.list.query(), []);
  const hosts = useQuery(() => (admin ? api.hosts.list.query() : Promise.resolve([])), [admin]);
  const envSets = useQuery(() => (admin ? api.envSets.list.query() : Promise.resolve([])), [admin]);
  const policySets = useQuery(() => (admin ? api.policySets.list.query() : Promise.resolve([])), [admin]);
  const [editing, setEditing] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const del = useAction((id: string) => api.workspaces.delete.mutate({ workspace: id }));
  const formRef = useRef<HTMLDivElement>(null);
  const rows = list.data ?? [];
  const current = editing ? rows.find((w) => w.id === editing) : undefined;

  useEffect(() => {
    if (editing) formRef.current?.querySelector<HTMLElement>("h2")?.focus();
  }, [editing]);

  async function remove(w: WorkspaceView) {
    setNotice(null);
    const done = await del.run(w.id);
    if (done) {
      setNotice(`Deleted workspace ${done.name}.`);
      if (editing === w.id) setEditing(null);
      list.reload();
    }
  }

  const choices = { hosts: hosts.data ?? [], envSets: envSets.data ?? [], policySets: policySets.data ?? [] };
  const choicesError = hosts.error ?? envSets.error ?? policySets.error;
  const choicesReady = Boolean(hosts.data && envSets.data && policySets.data);

  return (
    <>
      <PageTitle>Workspaces</PageTitle>
      <p className="hint">A workspace names a host and a directory, with the provider, env sets and policy set a session started there gets by default (explicit choices at start win).</p>
      {notice ? <p className="notice" role="status">{notice}</p> : null}
      <ErrorBox error={del.error} />
      <ErrorBox error={list.error} />
      {list.loading && !list.data ? <p className="muted">Loading workspaces…</p> : null}
      {list.data && rows.length === 0 ? <Empty>No workspaces yet.{admin ? " Create the first one below." : " Ask an admin to create one."}</Empty> : null}
      {rows.length > 0 ? (
        <div className="table-wrap">
          <table aria-label="Workspaces">
            <thead>
              <tr>
                <th>Name</th><th>Host</th><th>Directory</th><th className="hide-narrow">Provider</th><th className="hide-narrow">Env sets</th><th className="hide-narrow">Policy set</th><th className="hide-narrow">Updated</th><th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((w) => (
                <tr key={w.id} data-workspace={w.name}>
                  <td><span className="mono">{w.name}</span>{w.description ? <div className="muted">{w.description}</div> : null}</td>
                  <td>{w.host}</td>
                  <td className="mono" style={{ wordBreak: "break-all" }}>{w.path}</td>
                  <td className="hide-narrow">{w.provider ?? <span className="muted">host default</span>}</td>
                  <td className="hide-narrow">{w.envSets.length ? w.envSets.map((e) => <span key={e} className="tag">{e}</span>) : <span className="muted">none</span>}</td>
                  <td className="hide-narrow">{w.policySet ?? <span className="muted">none</span>}</td>
                  <td className="hide-narrow"><Time iso={w.updatedAt} /></td>
                  <td>
                    <span className="actions-inline">
                      {canOperate(me) ? <Link className="button small" href={`/sessions/new/?workspace=${encodeURIComponent(w.name)}`} aria-label={`Start session here: ${w.name}`}>Start session here</Link> : null}
                      {admin ? <button type="button" className="small" onClick={() => { setNotice(null); setEditing(w.id); }} disabled={editing === w.id} aria-label={`Edit ${w.name}`}>Edit</button> : null}
                      {admin ? <ConfirmButton className="danger small" question={`Delete workspace ${w.name}?`} onConfirm={() => void remove(w)} disabled={del.pending}>Delete</ConfirmButton> : null}
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}

      {admin ? (
        <div className="panel" ref={formRef} style={{ marginTop: "1rem" }}>
          <ErrorBox error={choicesError} />
          {!choicesReady && !choicesError ? <p className="muted">Loading hosts, env sets and policy sets…</p> : null}
          {choicesReady ? (
            current ? (
              <WorkspaceForm key={current.id} existing={current} choices={choices} onCancel={() => setEditing(null)} onDone={(m) => { setEditing(null); setNotice(m); list.reload(); }} />
            ) : (
              <WorkspaceForm key="new" choices={choices} onDone={(m) => { setNotice(m); list.reload(); }} />
            )
          ) : null}
        </div>
      ) : null}
    </>
  );
}
