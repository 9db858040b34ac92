"use client";
// Small data hooks over the vanilla tRPC client: no cache library, no polling. Lists stay fresh
// through `useLive` (a subscription that yields the whole view on every change).
import { useCallback, useEffect, useRef, useState } from "react";
import { appCodeOf, messageOf } from "./trpc";

export interface QueryState<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** Runs `fetcher` when `key` changes (and on reload); the latest call wins. */
export function useQuery<T>(fetcher: () => Promise<T>, key: readonly unknown[] = []): QueryState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;
  useEffect(() => {
    const call = ++latest.current;
    setLoading(true);
    fetcherRef.current().then(
      (value) => {
        if (call !== latest.current) return;
        setData(value);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (call !== latest.current) return;
        if (appCodeOf(err) === "CODEPIPER_UNAUTHENTICATED") redirectToLogin();
        setError(messageOf(err));
        setLoading(false);
      },
    );
  }, [...key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

interface Unsubscribable {
  unsubscribe(): void;
}
type Subscribe<T> = (handlers: { onData: (value: T) => void; onError: (err: unknown) => void }) => Unsubscribable;

/**
 * Keeps the latest value a subscription yielded. The WebSocket client reconnects by itself; while
 * it is down, `error` says so and the last value stays on screen.
 */
export function useLive<T>(subscribe: Subscribe<T>, key: readonly unknown[] = []): { data: T | undefined; error: string | null } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const subscribeRef = useRef(subscribe);
  subscribeRef.current = subscribe;
  useEffect(() => {
    setData(undefined);
    const sub = subscribeRef.current({
      onData: (value) => {
        setData(value);
        setError(null);
      },
      onError: (err) => {
        if (appCodeOf(err) === "CODEPIPER_UNAUTHENTICATED") redirectToLogin();
        setError(messageOf(err));
      },
    });
    return () => sub.unsubscribe();
  }, key);
  return { data, error };
}

/** Runs a mutation with a pending flag and a readable error, for forms and buttons. */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>): { run: (...args: A) => Promise<R | undefined>; pending: boolean; error: string | null; clear: () => void } {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(
    async (...args: A) => {
      setPending(true);
      setError(null);
      try {
        return await action(...args);
      } catch (err) {
        if (appCodeOf(err) === "CODEPIPER_UNAUTHENTICATED") redirectToLogin();
        setError(messageOf(err));
        return undefined;
      } finally {
        setPending(false);
      }
    },
    [action],
  );
  return { run, pending, error, clear: () => setError(null) };
}

export function redirectToLogin(): void {
  if (typeof window === "undefined" || window.location.pathname.startsWith("/login") || window.location.pathname.startsWith("/setup")) return;
  const next = window.location.pathname + window.location.search;
  window.location.assign(`/login/?next=${encodeURIComponent(next)}`);
}
