"use client";
// Small building blocks shared by every page.
import { useState, useSyncExternalStore, type ReactNode } from "react";
import { dateTime, relativeTime } from "@/lib/format";

export function ErrorBox({ error }: { error: string | null | undefined }) {
  if (!error) return null;
  return <p className="error" role="alert">{error}</p>;
}

export function PageTitle({ children, actions }: { children: ReactNode; actions?: ReactNode }) {
  return (
    <div className="toolbar">
      <h1 style={{ margin: 0 }}>{children}</h1>
      <span className="spacer" />
      {actions}
    </div>
  );
}

// One clock for every relative time on the page ("3 min ago" must not freeze): a local 15 s tick,
// no network, shared by all <Time> elements and stopped when none is mounted.
const clockListeners = new Set<() => void>();
let clockNow = Date.now();
let clockTimer: ReturnType<typeof setInterval> | null = null;
function subscribeClock(listener: () => void): () => void {
  clockListeners.add(listener);
  clockTimer ??= setInterval(() => {
    clockNow = Date.now();
    for (const l of clockListeners) l();
  }, 15_000);
  return () => {
    clockListeners.delete(listener);
    if (clockListeners.size === 0 && clockTimer) {
      clearInterval(clockTimer);
      clockTimer = null;
    }
  };
}

export function Time({ iso }: { iso: string | null | undefined }) {
  const now = useSyncExternalStore(subscribeClock, () => clockNow, () => clockNow);
  if (!iso) return <span className="muted">never</span>;
  return <time dateTime={iso} title={dateTime(iso)}>{relativeTime(iso, Math.max(now, Date.now()))}</time>;
}

const TONE: Record<string, "ok" | "warn" | "bad" | "info" | ""> = {
  online: "ok", running: "ok", allowed: "ok", allow: "ok", active: "ok",
  idle: "info", starting: "info", pending: "warn", needs_permission: "warn", needs_input: "warn", ask: "warn", prompted: "warn",
  offline: "", stopped: "", expired: "", withdrawn: "", revoked: "bad",
  crashed: "bad", denied: "bad", deny: "bad", failed: "bad",
};

export function Status({ value, label }: { value: string; label?: string }) {
  return <span className={`status ${TONE[value] ?? ""}`}>{label ?? value.replace(/_/g, " ")}</span>;
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [copied, setCopied] = useState<"yes" | "no" | null>(null);
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setCopied("yes");
    } catch {
      setCopied("no");
    }
  }
  return (
    <button className="small" type="button" onClick={() => void copy()} aria-live="polite">
      {copied === "yes" ? "Copied" : copied === "no" ? "Select and copy by hand" : label}
    </button>
  );
}

/** A button that asks once more before doing something that cannot be undone. */
export function ConfirmButton({ children, onConfirm, disabled, className = "danger", question }: { children: ReactNode; onConfirm: () => void; disabled?: boolean; className?: string; question: string }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return <button type="button" className={className} disabled={disabled} onClick={() => setAsking(true)}>{children}</button>;
  }
  return (
    <span role="group" aria-label={question} style={{ display: "inline-flex", gap: ".35rem", alignItems: "center" }}>
      <span>{question}</span>
      <button type="button" className={className} onClick={() => { setAsking(false); onConfirm(); }}>Yes</button>
      <button type="button" onClick={() => setAsking(false)} autoFocus>No</button>
    </span>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}
