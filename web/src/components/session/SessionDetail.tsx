"use client";
import Link from "next/link";
import { useMemo, useState, type FormEvent, type ReactNode } from "react";
import { isFinalState } from "@codepiper/core/wire/sessions";
import { api } from "@/lib/trpc";
import { useAction, useLive, useQuery } from "@/lib/hooks";
import { compactNumber, dateTime, shortId } from "@/lib/format";
import type { SessionView } from "@/lib/types";
import { canOperate, useMe } from "@/components/Shell";
import { ConfirmButton, CopyButton, ErrorBox, PageTitle, Status, Time } from "@/components/ui";
import { LiveTerminal } from "./LiveTerminal";
import { useSessionEvents } from "./useSessionEvents";
import { SessionTabs } from "./SessionTabs";

export function SessionDetail({ ref_ }: { ref_: string }) {
  if (!ref_) {
    return (
      <>
        <PageTitle>Session</PageTitle>
        <p className="error" role="alert">No session given in the address. Open one from the <Link href="/sessions/">sessions list</Link>.</p>
      </>
    );
  }
  return <Detail sessionRef={ref_} />;
}

function Detail({ sessionRef }: { sessionRef: string }) {
  const me = useMe();
  // Live header: sessions.watch yields the view at once and after every change to this session
  // (state, model, usage, name), whoever made it; the events below feed only the tabs.
  const session = useLive<SessionView>((h) => api.sessions.watch.subscribe({ session: sessionRef }, h), [sessionRef]);
  const s = session.data;
  const events = useSessionEvents(s?.id);

  // Resizes made while this page is open (events newer than the head at load): viewers follow
  // them. Older ones are history; the snapshot already has the pane's size.
  const head = useQuery(() => api.events.head.query(), [sessionRef]);
  const headId = head.data?.lastId;
  const paneSize = useMemo(() => {
    if (headId === undefined) return null;
    for (let i = events.events.length - 1; i >= 0; i--) {
      const e = events.events[i]!;
      if (e.id <= headId) break;
      if (e.type !== "terminal.resize") continue;
      const p = e.payload as { cols?: unknown; rows?: unknown } | null;
      if (typeof p?.cols === "number" && typeof p.rows === "number") return { cols: p.cols, rows: p.rows, id: e.id };
    }
    return null;
  }, [events.events, headId]);

  const title = s ? (s.name ?? shortId(s.id)) : sessionRef.length > 12 ? shortId(sessionRef) : sessionRef;

  if (!s) {
    return (
      <>
        <PageTitle>{title}</PageTitle>
        {session.error ? <ErrorBox error={`This session cannot be shown: ${session.error}`} /> : <p className="muted">Loading session…</p>}
        <p><Link href="/sessions/">Back to sessions</Link></p>
      </>
    );
  }

  const ended = isFinalState(s.status);
  return (
    <>
      <PageTitle actions={<Link className="button" href="/sessions/">All sessions</Link>}>{title}</PageTitle>
      {session.error ? <ErrorBox error={`Live updates of this session stopped: ${session.error}`} /> : null}
      {events.reconnecting || events.error ? <p className="warning" role="status">Live updates interrupted ({events.error ?? "connection lost"}); reconnecting…</p> : null}
      <Header s={s} />
      <Actions s={s} ended={ended} />
      <LiveTerminal sessionId={s.id} ended={ended} interactive={canOperate(me)} paneSize={paneSize} />
      <SessionTabs session={s} events={events} />
    </>
  );
}

function Field({ label, children, wide }: { label: string; children: ReactNode; wide?: boolean }) {
  return (
    <div className={wide ? "field wide" : "field"}>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function Header({ s }: { s: SessionView }) {
  const u = s.usage;
  const tokens = u.inputTokens + u.outputTokens + u.cacheReadTokens + u.cacheCreationTokens;
  return (
    <section className="panel" aria-label="Session details">
      <dl className="session-facts" aria-live="polite">
        <Field label="Status"><span data-testid="session-status"><Status value={s.status} /></span></Field>
        <Field label="Host"><Link href={`/sessions/?host=${encodeURIComponent(s.hostName)}`}>{s.hostName}</Link></Field>
        <Field label="Provider">{s.provider}</Field>
        <Field label="Model"><span className="mono" data-testid="session-model">{s.model ?? <span className="muted">provider default</span>}</span></Field>
        <Field label="Billing">{s.billing}</Field>
        <Field label="Dangerous">{s.dangerous ? <span className="tag danger-tag" title="Permission prompts are skipped">yes: skips permission prompts</span> : "no"}</Field>
        <Field label="Created"><Time iso={s.createdAt} />{s.createdBy ? <span className="muted"> by {s.createdBy}</span> : null}</Field>
        <Field label="Ended">{s.endedAt ? <Time iso={s.endedAt} /> : <span className="muted">running</span>}</Field>
        <Field label="Tokens"><span title={`${u.inputTokens.toLocaleString()} input, ${u.outputTokens.toLocaleString()} output, ${u.cacheReadTokens.toLocaleString()} cache read, ${u.cacheCreationTokens.toLocaleString()} cache write; ${u.responses.toLocaleString()} responses`}>{compactNumber(tokens)} in {u.responses} responses</span></Field>
        <Field label="Directory" wide>
          <span className="mono break">{s.cwd}</span> <CopyButton text={s.cwd} label="Copy path" />
        </Field>
        <Field label="Worktree" wide>
          {s.worktree ? <><span className="tag">{s.worktree.branch}</span> <span className="mono break">{s.worktree.path ?? "not created yet"}</span></> : <span className="muted">none</span>}
        </Field>
        <Field label="Session id" wide><span className="mono break">{s.id}</span> <CopyButton text={s.id} label="Copy id" /></Field>
        {s.envNames.length ? <Field label="Environment" wide>{s.envNames.map((n) => <span key={n} className="tag mono">{n}</span>)}</Field> : null}
        {s.policySets.length ? <Field label="Policy sets" wide>{s.policySets.map((n) => <span key={n} className="tag">{n}</span>)}</Field> : null}
        {s.status === "crashed" || s.exitCode !== null ? (
          <Field label="Exit code"><span className="mono">{s.exitCode ?? "none"}</span></Field>
        ) : null}
      </dl>
      {s.error ? <p className={s.status === "crashed" ? "error" : "warning"} data-testid="session-error"><strong>{s.status === "crashed" ? "Crashed: " : "Error: "}</strong>{s.error}</p> : null}
      <p className="hint" style={{ margin: ".5rem 0 0" }}>Updated {dateTime(s.updatedAt)}</p>
    </section>
  );
}

/** Results show up in the header through sessions.watch, for this viewer and every other one. */
function Actions({ s, ended }: { s: SessionView; ended: boolean }) {
  const me = useMe();
  const [model, setModel] = useState("");
  const [note, setNote] = useState<string | null>(null);
  const modelAction = useAction((m: string) => api.sessions.model.mutate({ session: s.id, model: m }));
  const stop = useAction(() => api.sessions.stop.mutate({ session: s.id }));
  const kill = useAction(() => api.sessions.kill.mutate({ session: s.id }));
  const resume = useAction(() => api.sessions.resume.mutate({ session: s.id }));
  if (!canOperate(me)) return null;

  async function lifecycle(action: typeof stop, done: string) {
    setNote(null);
    const res = await action.run();
    if (!res) return;
    setNote(res.queued ? `The host is offline: the request waits and runs when it links again.` : done);
  }

  async function switchModel(e: FormEvent) {
    e.preventDefault();
    const value = model.trim();
    if (!value) return;
    setNote(null);
    const res = await modelAction.run(value);
    if (!res) return;
    setNote(res.queued ? `The host is offline: the switch to ${value} runs when it links again.` : `Model switched to ${res.model ?? value}.`);
    setModel("");
  }

  const busy = stop.pending || kill.pending || resume.pending;
  return (
    <section className="panel session-actions" aria-label="Session actions">
      <div className="session-actions-row">
        {!ended ? (
          <form className="session-model" onSubmit={(e) => void switchModel(e)}>
            <label>
              Model
              <input value={model} onChange={(e) => { setModel(e.target.value); modelAction.clear(); }} placeholder={s.model ?? "sonnet, opus, haiku or a model id"} pattern="[A-Za-z0-9._:\[\]\-]+" title="a model alias (sonnet, opus, haiku, opusplan) or a full model id" maxLength={200} required aria-invalid={modelAction.error ? true : undefined} />
            </label>
            <button type="submit" disabled={modelAction.pending || !model.trim()}>{modelAction.pending ? "Switching…" : "Switch model"}</button>
          </form>
        ) : null}
        <span className="spacer" />
        <div className="session-buttons">
          {!ended ? (
            <>
              <button type="button" onClick={() => void lifecycle(stop, "Stopped.")} disabled={busy}>{stop.pending ? "Stopping…" : "Stop"}</button>
              <ConfirmButton question="Kill this session? Its program is terminated at once." onConfirm={() => void lifecycle(kill, "Killed.")} disabled={busy}>{kill.pending ? "Killing…" : "Kill"}</ConfirmButton>
            </>
          ) : (
            <button type="button" className="primary" onClick={() => void lifecycle(resume, "Resumed.")} disabled={busy}>{resume.pending ? "Resuming…" : "Resume"}</button>
          )}
        </div>
      </div>
      <ErrorBox error={modelAction.error ? `Switching the model failed: ${modelAction.error}` : null} />
      <ErrorBox error={stop.error ? `Stopping failed: ${stop.error}` : null} />
      <ErrorBox error={kill.error ? `Killing failed: ${kill.error}` : null} />
      <ErrorBox error={resume.error ? `Resuming failed: ${resume.error}` : null} />
      {note ? <p className="notice" role="status">{note}</p> : null}
    </section>
  );
}
