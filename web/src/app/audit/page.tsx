"use client";
import { useRef, useState, type KeyboardEvent } from "react";
import { PageTitle } from "@/components/ui";
import { ActionsTab } from "@/components/audit/ActionsTab";
import { DecisionsTab } from "@/components/audit/DecisionsTab";

const TABS = [
  { id: "actions", label: "Actions" },
  { id: "decisions", label: "Policy decisions" },
] as const;
type Tab = (typeof TABS)[number]["id"];

/** The audit trail: what users, tokens and hosts changed, and every policy decision hosts made. */
export default function AuditPage() {
  const [tab, setTab] = useState<Tab>("actions");
  const refs = useRef<(HTMLButtonElement | null)[]>([]);

  function onKey(e: KeyboardEvent, i: number) {
    const next = e.key === "ArrowRight" ? (i + 1) % TABS.length : e.key === "ArrowLeft" ? (i + TABS.length - 1) % TABS.length : e.key === "Home" ? 0 : e.key === "End" ? TABS.length - 1 : -1;
    if (next < 0) return;
    e.preventDefault();
    setTab(TABS[next]!.id);
    refs.current[next]?.focus();
  }

  return (
    <>
      <PageTitle>Audit log</PageTitle>
      <div className="tabs" role="tablist" aria-label="Audit log">
        {TABS.map((t, i) => (
          <button
            key={t.id}
            ref={(el) => { refs.current[i] = el; }}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            onClick={() => setTab(t.id)}
            onKeyDown={(e) => onKey(e, i)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === "actions" ? <ActionsTab /> : <DecisionsTab />}
      </div>
    </>
  );
}
