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

/**
 * After the subscription (re)starts, what we still hold as pending may have been decided while we
 * were disconnected (the feed restarts from the pending inbox, not from where it stopped): ask for
 * the pending list and re-read whatever we hold as pending that is no longer in it.
 */
async function settleStalePending(): Promise<void> {
  const pendingNow = new Set((await api.approvals.list.query({ status: "pending", limit: 1000 })).map((a) => a.id));
  const stale = [...approvals.values()].filter((a) => a.status === "pending" && !pendingNow.has(a.id));
  for (const a of stale) {
    const fresh = await api.approvals.get.query({ id: a.id }).catch(() => null);
    if (fresh) approvals.set(a.id, fresh);
    else approvals.delete(a.id);
  }
  if (stale.length) emit();
}

function start() {
  sub = api.approvals.follow.subscribe(undefined, {
    onStarted: () => {
      if ([...approvals.values()].some((a) => a.status === "pending")) void settleStalePending().catch(() => undefined);
    },
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
