"use client";
// The session's live terminal (xterm.js, loaded in the browser only). Operators type into it and
// it follows the size of its box; viewers watch read-only at the pane's own size.
import { useEffect, useRef, useState } from "react";
import type { Terminal } from "@xterm/xterm";
import { TerminalStream, type StreamPhase } from "./terminalStream";

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** Moves focus to the first focusable element after `from` (Ctrl+] leaves the terminal). */
function focusAfter(from: HTMLElement): void {
  const all = [...document.querySelectorAll<HTMLElement>(FOCUSABLE)];
  const next = all.find((el) => !from.contains(el) && (from.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING) !== 0);
  if (next) next.focus();
  else (document.activeElement as HTMLElement | null)?.blur();
}

function phaseText(phase: StreamPhase, ended: boolean): { text: string; tone: "ok" | "warn" | "bad" | "info" } {
  switch (phase.kind) {
    case "connecting":
      return { text: "Connecting…", tone: "info" };
    case "live":
      return { text: "Live", tone: "ok" };
    case "resyncing":
      return { text: "Resyncing…", tone: "warn" };
    case "reconnecting":
      return { text: "Reconnecting…", tone: "warn" };
    case "unavailable":
      return ended ? { text: "Ended", tone: "bad" } : { text: "Unavailable, retrying…", tone: "warn" };
    case "ended":
      return { text: "Ended", tone: "bad" };
  }
}

export interface PaneSize {
  cols: number;
  rows: number;
  /** The event that said so (a newer one wins). */
  id: number;
}

export function LiveTerminal({ sessionId, ended, interactive, onEnded, paneSize }: { sessionId: string; ended: boolean; interactive: boolean; onEnded?: () => void; paneSize?: PaneSize | null }) {
  const boxRef = useRef<HTMLDivElement>(null);
  const hostRef = useRef<HTMLDivElement>(null);
  const streamRef = useRef<TerminalStream | null>(null);
  const termRef = useRef<Terminal | null>(null);
  const onEndedRef = useRef(onEnded);
  onEndedRef.current = onEnded;
  const [ready, setReady] = useState(false);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [phase, setPhase] = useState<StreamPhase>({ kind: "connecting" });
  const [inputError, setInputError] = useState<string | null>(null);
  const [shown, setShown] = useState(false);

  // xterm itself: created once per session id, kept while the session ends (its last screen stays).
  useEffect(() => {
    let disposed = false;
    let term: Terminal | null = null;
    let observer: ResizeObserver | null = null;
    let fitFrame = 0;
    void (async () => {
      try {
        const [{ Terminal: XTerm }, { FitAddon }] = await Promise.all([import("@xterm/xterm"), import("@xterm/addon-fit")]);
        if (disposed || !hostRef.current) return;
        const t = new XTerm({
          scrollback: 5000,
          disableStdin: !interactive,
          cursorBlink: interactive,
          convertEol: false,
          fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
          fontSize: 13,
          theme: { background: "#000000", foreground: "#e6e8ec", cursor: interactive ? "#e6e8ec" : "#000000" },
        });
        term = t;
        termRef.current = t;
        const fit = new FitAddon();
        t.loadAddon(fit);
        t.open(hostRef.current);
        // The focusable part of xterm is its hidden textarea: that is "the terminal" for assistive tech.
        t.textarea?.setAttribute("aria-label", "Terminal");
        if (!interactive) t.textarea?.setAttribute("aria-readonly", "true");
        t.attachCustomKeyEventHandler((e) => {
          // Ctrl+] leaves the terminal (Tab belongs to the session), like the CLI's detach key.
          if (e.type === "keydown" && e.ctrlKey && (e.key === "]" || e.code === "BracketRight")) {
            if (boxRef.current) focusAfter(boxRef.current);
            return false;
          }
          return true;
        });
        const stream = new TerminalStream(t, fit, sessionId, interactive, {
          onPhase: (p) => {
            if (disposed) return;
            setPhase(p);
            if (p.kind === "live") setShown(true);
          },
          onInputError: (m) => {
            if (!disposed) setInputError(m);
          },
          onEnded: () => {
            if (!disposed) onEndedRef.current?.();
          },
        });
        streamRef.current = stream;
        t.onData((d) => stream.input(d));
        t.onBinary((d) => stream.input(d, true));
        if (interactive) {
          observer = new ResizeObserver(() => {
            if (fitFrame) cancelAnimationFrame(fitFrame);
            fitFrame = requestAnimationFrame(() => {
              fitFrame = 0;
              stream.refit();
            });
          });
          observer.observe(hostRef.current);
          stream.refit();
        }
        setReady(true);
      } catch (err) {
        if (!disposed) setLoadError(`The terminal could not be loaded: ${err instanceof Error ? err.message : String(err)}`);
      }
    })();
    return () => {
      disposed = true;
      observer?.disconnect();
      if (fitFrame) cancelAnimationFrame(fitFrame);
      streamRef.current?.stop();
      streamRef.current = null;
      term?.dispose();
      termRef.current = null;
      setReady(false);
      setShown(false);
    };
  }, [sessionId, interactive]);

  // The stream: only while the session runs (the server refuses ended sessions).
  useEffect(() => {
    const stream = streamRef.current;
    if (!ready || !stream) return;
    if (ended) {
      stream.stop();
      setPhase({ kind: "ended", reason: "the session has ended" });
      return;
    }
    setInputError(null);
    stream.start();
    return () => stream.stop();
  }, [ready, ended]);

  // Viewers show the pane at its own size: follow resizes made by operators (terminal.resize events).
  const paneCols = paneSize?.cols;
  const paneRows = paneSize?.rows;
  const paneId = paneSize?.id;
  useEffect(() => {
    const term = termRef.current;
    if (interactive || !ready || !term || paneCols === undefined || paneRows === undefined) return;
    if (term.cols !== paneCols || term.rows !== paneRows) term.resize(Math.max(2, paneCols), Math.max(2, paneRows));
  }, [paneId, paneCols, paneRows, ready, interactive]);

  const status = phaseText(phase, ended);
  const problem = phase.kind === "reconnecting" || phase.kind === "unavailable" || phase.kind === "resyncing" ? phase.reason : null;
  const hideBox = ended && !shown;

  return (
    <section className="session-terminal">
      <div className="toolbar session-terminal-bar">
        <h2 style={{ margin: 0 }}>Terminal</h2>
        <span className={`status ${status.tone}`} role="status" aria-live="polite" data-testid="terminal-status">{status.text}</span>
        <span className="spacer" />
        {ended ? null : interactive ? (
          <span className="hint"><span>Click the terminal and type; Ctrl+C goes to the session.</span> <span>Ctrl+] moves the focus out of it.</span></span>
        ) : (
          <span className="hint">Read-only: your role can watch this terminal but not type into it.</span>
        )}
      </div>
      {problem && !ended ? <p className="muted small-print">{phase.kind === "resyncing" ? "Catching up" : "Stream interrupted"}: {problem}</p> : null}
      {ended ? (
        <p className="notice">{shown ? "The session has ended: this is its last screen." : "The session has ended, so there is no live terminal. Resume it to get one back."}</p>
      ) : null}
      {loadError ? <p className="error" role="alert">{loadError}</p> : null}
      <div ref={boxRef} className={`terminal session-terminal-box${interactive ? "" : " readonly"}`} data-testid="terminal" hidden={hideBox} onClick={() => termRef.current?.focus()}>
        <div ref={hostRef} className="session-terminal-host" />
      </div>
      {inputError ? <p className="error" role="alert">{inputError}</p> : null}
    </section>
  );
}
