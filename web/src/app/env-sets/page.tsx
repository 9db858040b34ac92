"use client";
import { useEffect, useRef, useState } from "react";
import { api } from "@/lib/trpc";
import { useAction, useQuery } from "@/lib/hooks";
import type { Outputs } from "@/lib/types";
import { useMe } from "@/components/Shell";
import { ConfirmButton, Empty, ErrorBox, PageTitle, Time } from "@/components/ui";
import { EnvSetForm } from "@/components/envsets/EnvSetForm";
import { KeyStatus } from "@/components/envsets/KeyStatus";

type EnvSetView = Outputs["envSets"]["list"][number];

/** Env sets: names and masked values only (the API never returns a value); admins create, edit, delete. */
export default function EnvSetsPage() {
  const me = useMe();
  const admin = me.role === "admin";
  const list = useQuery(() => api.envSets.list.query(), []);
  const [editing, setEditing] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const del = useAction((id: string) => api.envSets.delete.mutate({ envSet: id }));
  const formRef = useRef<HTMLDivElement>(null);
  const sets = list.data ?? [];
  const current = editing ? sets.find((s) => s.id === editing) : undefined;

  useEffect(() => {
    if (editing) formRef.current?.querySelector<HTMLElement>("h2")?.focus();
  }, [editing]);

  async function remove(s: EnvSetView) {
    setNotice(null);
    const done = await del.run(s.id);
    if (done) {
      setNotice(`Deleted env set ${done.name}.`);
      if (editing === s.id) setEditing(null);
      list.reload();
    }
  }

  return (
    <>
      <PageTitle>Env sets</PageTitle>
      <p className="hint">
        Named groups of environment variables for sessions, encrypted at rest. Values are write-only: they are never shown again after saving, only masked (at most the last 4 characters of long values).
      </p>
      {notice ? <p className="notice" role="status">{notice}</p> : null}
      <ErrorBox error={del.error} />
      <ErrorBox error={list.error} />
      {list.loading && !list.data ? <p className="muted">Loading env sets…</p> : null}
      {list.data && sets.length === 0 ? <Empty>No env sets yet.{admin ? " Create the first one below." : " Ask an admin to create one."}</Empty> : null}
      {sets.length > 0 ? (
        <div className="table-wrap">
          <table aria-label="Env sets">
            <thead>
              <tr>
                <th>Name</th>
                <th className="hide-narrow">Description</th>
                <th>Variables</th>
                <th className="hide-narrow">Updated</th>
                {admin ? <th>Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {sets.map((s) => (
                <tr key={s.id} data-envset={s.name}>
                  <td className="mono">{s.name}</td>
                  <td className="hide-narrow">{s.description || <span className="muted">—</span>}</td>
                  <td>
                    {s.error ? <p className="warning" style={{ margin: "0 0 .35rem" }}>Values cannot be read with this master key: {s.error}</p> : null}
                    {s.names.length === 0 ? <span className="muted">none</span> : null}
                    {s.names.map((n) => (
                      <span key={n} className="tag mono" title={`${n} (value hidden)`}>
                        {n}={s.masked[n] ?? "****"}
                      </span>
                    ))}
                  </td>
                  <td className="hide-narrow"><Time iso={s.updatedAt} /></td>
                  {admin ? (
                    <td>
                      <span style={{ display: "inline-flex", gap: ".35rem", flexWrap: "wrap" }}>
                        <button type="button" className="small" onClick={() => { setNotice(null); setEditing(s.id); }} aria-label={`Edit ${s.name}`} disabled={editing === s.id}>Edit</button>
                        <ConfirmButton className="danger small" question={`Delete env set ${s.name}?`} onConfirm={() => void remove(s)} disabled={del.pending}>Delete</ConfirmButton>
                      </span>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}

      {admin ? (
        <div className="panel" ref={formRef} style={{ marginTop: "1rem" }}>
          {current ? (
            <EnvSetForm
              key={current.id}
              existing={current}
              onCancel={() => setEditing(null)}
              onDone={(message) => { setEditing(null); setNotice(message); list.reload(); }}
            />
          ) : (
            <EnvSetForm key="new" onDone={(message) => { setNotice(message); list.reload(); }} />
          )}
        </div>
      ) : null}

      {admin ? <KeyStatus /> : null}
    </>
  );
}
