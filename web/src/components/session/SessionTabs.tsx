"use client";
// Transcript / Events / Policy decisions of one session, as ARIA tabs (arrow keys move between them).
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import { EVENT_SOURCES, type EventSource } from "@codepiper/core/wire/sessions";
import { api } from "@/lib/trpc";
import { useQuery } from "@/lib/hooks";
import { dateTime } from "@/lib/format";
import type { SessionView } from "@/lib/types";
import { Empty, ErrorBox, Status, Time } from "@/components/ui";
import { MAX_EVENTS, sourceOf, type EventView, type SessionEvents } from "./useSessionEvents";
import { buildTranscript, prettyJson, summarizeInput, type ToolResultItem, type TranscriptItem } from "./transcript";

const TABS = [
  { id: "transcript", label: "Transcript" },
  { id: "events", label: "Events" },
  { id: "decisions", label: "Policy decisions" },
] as const;
type TabId = (typeof TABS)[number]["id"];

/** Rows rendered at first (and added per "Show earlier"): long sessions stay fast. */
const WINDOW = 400;

export function SessionTabs({ session, events }: { session: SessionView; events: SessionEvents }) {
  const [tab, setTab] = useState<TabId>("transcript");
  const refs = useRef<Record<string, HTMLButtonElement | null>>({});

  function onKey(e: KeyboardEvent<HTMLDivElement>) {
    const i = TABS.findIndex((t) => t.id === tab);
    let next = -1;
    if (e.key === "ArrowRight") next = (i + 1) % TABS.length;
    else if (e.key === "ArrowLeft") next = (i - 1 + TABS.length) % TABS.length;
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = TABS.length - 1;
    if (next < 0) return;
    e.preventDefault();
    const id = TABS[next]!.id;
    setTab(id);
    refs.current[id]?.focus();
  }

  return (
    <section>
      <div className="tabs" role="tablist" aria-label="Session history" onKeyDown={onKey}>
        {TABS.map((t) => (
          <button
            key={t.id}
            ref={(el) => {
              refs.current[t.id] = el;
            }}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={tab === t.id ? `panel-${t.id}` : undefined}
            tabIndex={tab === t.id ? 0 : -1}
            onClick={() => setTab(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {events.truncated && tab !== "decisions" ? (
          <p className="hint">This session has more than {MAX_EVENTS.toLocaleString()} events: only the newest are loaded here. <code>codepiper logs {session.id.slice(0, 8)}</code> has them all.</p>
        ) : null}
        {tab === "transcript" ? <Transcript events={events} /> : null}
        {tab === "events" ? <EventLog events={events} /> : null}
        {tab === "decisions" ? <Decisions session={session} events={events.events} /> : null}
      </div>
    </section>
  );
}

/** A scroll box that stays pinned to the bottom while the reader is there (newest at the bottom). */
function FollowBox({ label, children, depends }: { label: string; children: ReactNode; depends: unknown }) {
  const box = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  useLayoutEffect(() => {
    const el = box.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [depends]);
  return (
    <div
      ref={box}
      className="follow-box"
      role="log"
      aria-label={label}
      tabIndex={0}
      onScroll={(e) => {
        const el = e.currentTarget;
        pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
      }}
    >
      {children}
    </div>
  );
}

function ShowEarlier({ hidden, onMore }: { hidden: number; onMore: () => void }) {
  if (hidden <= 0) return null;
  return (
    <p style={{ textAlign: "center", margin: ".25rem 0 .75rem" }}>
      <button type="button" className="small" onClick={onMore}>Show earlier ({hidden.toLocaleString()} more)</button>
    </p>
  );
}

function loadingOrError(events: SessionEvents): ReactNode {
  if (events.error && events.events.length === 0) return <ErrorBox error={`Events cannot be loaded: ${events.error}`} />;
  if (!events.settled) return <p className="muted" aria-busy="true">Loading events…</p>;
  return null;
}

// --- Transcript ---

function Transcript({ events }: { events: SessionEvents }) {
  const items = useMemo(() => buildTranscript(events.events), [events.events]);
  const [shown, setShown] = useState(WINDOW);
  const visible = items.slice(Math.max(0, items.length - shown));
  const problem = loadingOrError(events);
  if (problem) return problem;
  if (items.length === 0) {
    return <Empty>No conversation yet: messages and tool calls appear here as the agent writes its transcript.</Empty>;
  }
  return (
    <FollowBox label="Transcript" depends={items.length}>
      <ShowEarlier hidden={items.length - visible.length} onMore={() => setShown((n) => n + WINDOW)} />
      <ol className="transcript">
        {visible.map((item) => (
          <TranscriptEntry key={item.key} item={item} />
        ))}
      </ol>
    </FollowBox>
  );
}

const LONG_TEXT = 6000;

function LongText({ text, className }: { text: string; className?: string }) {
  const [all, setAll] = useState(false);
  if (text.length <= LONG_TEXT || all) return <pre className={className}>{text}</pre>;
  return (
    <>
      <pre className={className}>{text.slice(0, LONG_TEXT)}…</pre>
      <button type="button" className="small" onClick={() => setAll(true)}>Show all {text.length.toLocaleString()} characters</button>
    </>
  );
}

function Result({ result }: { result: ToolResultItem }) {
  return (
    <div className={`tool-result${result.isError ? " failed" : ""}`}>
      <div className="muted small-print">{result.isError ? "Result (error)" : "Result"}{result.truncated ? " — cut, the full output is on the host" : ""}</div>
      {result.output ? <LongText text={result.output} className="mono" /> : <span className="muted">(no output)</span>}
    </div>
  );
}

function TranscriptEntry({ item }: { item: TranscriptItem }) {
  switch (item.kind) {
    case "message":
      return (
        <li className={`msg ${item.role}`}>
          <div className="msg-head">
            <strong>{item.role === "user" ? "User" : "Assistant"}</strong> <Time iso={item.at} />
            {item.truncated ? <span className="tag">cut</span> : null}
          </div>
          <LongText text={item.text} />
        </li>
      );
    case "tool": {
      const summary = summarizeInput(item.input);
      return (
        <li className={`msg tool${item.result?.isError ? " failed" : ""}`}>
          <details>
            <summary>
              <span className="tool-name">{item.name}</span> <span className="mono tool-args">{summary}</span>{" "}
              <span className="muted small-print">{item.result ? (item.result.isError ? "· failed" : "· done") : "· no result yet"}</span>
            </summary>
            <div className="muted small-print">Arguments{item.truncated ? " (cut)" : ""} · <Time iso={item.at} /></div>
            <pre className="mono tool-input">{prettyJson(item.input)}</pre>
            {item.result ? <Result result={item.result} /> : null}
          </details>
        </li>
      );
    }
    case "orphan_result":
      return (
        <li className="msg tool">
          <details>
            <summary><span className="tool-name">Tool result</span> <span className="muted small-print">for call {item.callId || "unknown"}</span></summary>
            <Result result={item.result} />
          </details>
        </li>
      );
    case "note":
      return <li className={`msg note${item.tone === "warn" ? " warn" : ""}`}>{item.text} <Time iso={item.at} /></li>;
  }
}

// --- Events ---

const SOURCE_LABELS: Record<EventSource, string> = { hook: "Hooks (hook.*)", transcript: "Transcript (transcript.*)", terminal: "Terminal (terminal.*)", state: "State (session.*)" };

function payloadSummary(payload: unknown): string {
  if (payload === null || payload === undefined) return "";
  const text = typeof payload === "string" ? payload : JSON.stringify(payload);
  const flat = text.replace(/\s+/g, " ");
  return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat;
}

function EventLog({ events }: { events: SessionEvents }) {
  const [source, setSource] = useState<EventSource | "other" | "">("");
  const [shown, setShown] = useState(WINDOW);
  const list = useMemo(() => (source ? events.events.filter((e) => sourceOf(e.type) === source) : events.events), [events.events, source]);
  const visible = list.slice(Math.max(0, list.length - shown));
  const problem = loadingOrError(events);
  return (
    <>
      <div className="toolbar">
        <label>
          Source
          <select value={source} onChange={(e) => { setSource(e.target.value as EventSource | "other" | ""); setShown(WINDOW); }}>
            <option value="">All sources</option>
            {(Object.keys(EVENT_SOURCES) as EventSource[]).map((k) => (
              <option key={k} value={k}>{SOURCE_LABELS[k] ?? k}</option>
            ))}
            <option value="other">Other</option>
          </select>
        </label>
        <span className="hint" aria-live="polite">{list.length.toLocaleString()} event{list.length === 1 ? "" : "s"}, live; newest at the bottom</span>
      </div>
      {problem}
      {!problem && list.length === 0 ? <Empty>{source ? "No events from this source yet." : "No events for this session yet."}</Empty> : null}
      {list.length > 0 ? (
        <FollowBox label="Event log" depends={list.length}>
          <ShowEarlier hidden={list.length - visible.length} onMore={() => setShown((n) => n + WINDOW)} />
          <div className="table-wrap">
            <table aria-label="Events">
              <thead>
                <tr><th className="num hide-narrow">#</th><th>Time</th><th>Type</th><th>Payload</th></tr>
              </thead>
              <tbody>
                {visible.map((e) => <EventRow key={e.id} e={e} />)}
              </tbody>
            </table>
          </div>
        </FollowBox>
      ) : null}
    </>
  );
}

function EventRow({ e }: { e: EventView }) {
  const summary = payloadSummary(e.payload);
  return (
    <tr data-event-type={e.type}>
      <td className="num hide-narrow mono">{e.id}</td>
      <td className="nowrap"><time dateTime={e.at} title={`${dateTime(e.at)} (received ${dateTime(e.receivedAt)})`}>{new Date(e.at).toLocaleTimeString()}</time></td>
      <td className="mono nowrap">{e.type}</td>
      <td className="payload">
        {summary.length < 200 && !summary.includes("\\n") ? (
          <code className="break">{summary}</code>
        ) : (
          <details>
            <summary><code className="break">{summary}</code></summary>
            <pre className="mono">{prettyJson(e.payload)}</pre>
          </details>
        )}
      </td>
    </tr>
  );
}

// --- Policy decisions ---

function Decisions({ session, events }: { session: SessionView; events: readonly EventView[] }) {
  const decisions = useQuery(() => api.audit.decisions.query({ session: session.id, limit: 1000 }), [session.id]);
  // No live feed for decisions: hooks are what produce them, so a new hook event means "read again".
  const hooks = useMemo(() => events.reduce((n, e) => (e.type.startsWith("hook.") ? n + 1 : n), 0), [events]);
  const { reload } = decisions;
  const seenHooks = useRef<number | null>(null);
  useEffect(() => {
    const before = seenHooks.current;
    seenHooks.current = hooks;
    if (before === null || before === hooks) return;
    const t = setTimeout(reload, 1000);
    return () => clearTimeout(t);
  }, [hooks, reload]);
  const list = decisions.data ? [...decisions.data].reverse() : [];
  return (
    <>
      <div className="toolbar">
        <span className="hint" aria-live="polite">{decisions.data ? `${list.length.toLocaleString()} decision${list.length === 1 ? "" : "s"}${list.length === 1000 ? " (the newest 1000)" : ""}; newest at the bottom, refreshed when the agent reports hooks` : decisions.loading ? "Loading…" : ""}</span>
        <span className="spacer" />
        <button type="button" className="small" onClick={reload} disabled={decisions.loading}>Reload</button>
      </div>
      <ErrorBox error={decisions.error ? `Policy decisions cannot be loaded: ${decisions.error}` : null} />
      {decisions.data && list.length === 0 ? <Empty>No policy decisions for this session yet.</Empty> : null}
      {list.length > 0 ? (
        <div className="table-wrap">
          <table aria-label="Policy decisions">
            <thead>
              <tr>
                <th>Time</th><th>Tool</th><th>Arguments</th><th>Decision</th><th>Outcome</th><th className="hide-narrow">Decider</th><th className="hide-narrow">Rule</th>
              </tr>
            </thead>
            <tbody>
              {list.map((d) => (
                <tr key={d.id}>
                  <td className="nowrap"><Time iso={d.at} /></td>
                  <td className="mono">{d.tool}</td>
                  <td className="payload"><code className="break">{d.args}</code></td>
                  <td><Status value={d.decision} /></td>
                  <td><Status value={d.outcome} /></td>
                  <td className="hide-narrow">{d.decider}</td>
                  <td className="hide-narrow">{d.policyName ? <span className="mono">{d.ruleIndex !== null ? `${d.policyName}[${d.ruleIndex}]` : d.policyName}</span> : <span className="muted">default action</span>}{d.hookEvent ? <div className="muted small-print">{d.hookEvent}</div> : null}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
