"use client";
// The live approvals inbox, shared by the nav badge and the approvals page: one subscription
// (approvals.follow yields the pending requests, then every arrival and decision).
import { useEffect, useSyncExternalStore } from "react";
import { api } from "./trpc";

import type { Outputs } from "./types";

export type ApprovalView = Outputs["approvals"]["get"];

const listeners = new Set<() => void>();
let approvals = new Map<string, ApprovalView>();
let snapshot: ApprovalView[] = [];
let sub: { unsubscribe(): void } | null = null;
let users = 0;
let connectionError: string | null = null;

function emit() {
  snapshot = [...approvals.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  for (const l of listeners) l();
}

function start() {
  sub = api.approvals.follow.subscribe(undefined, {
    onData: (tracked) => {
      approvals.set(tracked.data.id, tracked.data);
      connectionError = null;
      emit();
    },
    onError: (err) => {
      connectionError = err instanceof Error ? err.message : String(err);
      emit();
    },
  });
}

function retain(): () => void {
  if (users++ === 0) start();
  return () => {
    if (--users === 0) {
      sub?.unsubscribe();
      sub = null;
      approvals = new Map();
      snapshot = [];
    }
  };
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Every approval seen since the page opened (pending first arrivals, then live changes), newest first. */
export function useApprovals(): { approvals: ApprovalView[]; error: string | null } {
  useEffect(retain, []);
  const list = useSyncExternalStore(subscribe, () => snapshot, () => snapshot);
  return { approvals: list, error: connectionError };
}

/** How many approvals wait for an answer. */
export function usePendingApprovals(): number {
  const { approvals: list } = useApprovals();
  return list.filter((a) => a.status === "pending").length;
}

/** Records a decision made on this page immediately (the subscription confirms it). */
export function noteApproval(view: ApprovalView): void {
  approvals.set(view.id, view);
  emit();
}
