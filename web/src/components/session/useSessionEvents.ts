"use client";
// One live event stream per Session page (events.follow filtered by the session), shared by the
// transcript and the raw event log (the header follows sessions.watch instead).
// The WebSocket client resumes the tracked stream from the last id after a reconnect; events are
// kept in id order, de-duplicated, bounded, and handed to React at most ~10 times a second.
import { useEffect, useState } from "react";
import { EVENT_SOURCES, type EventSource } from "@codepiper/core/wire/sessions";
import { api, appCodeOf, messageOf } from "@/lib/trpc";
import { redirectToLogin } from "@/lib/hooks";
import type { Outputs } from "@/lib/types";

export type EventView = Outputs["events"]["list"]["events"][number];

/** Most events kept in the page: older ones are dropped (the CLI's `codepiper logs` has them all). */
export const MAX_EVENTS = 10_000;
const FLUSH_MS = 100;

export interface SessionEvents {
  events: EventView[];
  /** Older events were dropped to stay within MAX_EVENTS. */
  truncated: boolean;
  /** The stream is down (the client reconnects by itself); the text says why. */
  error: string | null;
  reconnecting: boolean;
  /** The first batch (the session's history) has arrived, or there is none: "no events" is true. */
  settled: boolean;
}

const EMPTY: SessionEvents = { events: [], truncated: false, error: null, reconnecting: false, settled: false };
/** With no event this long after subscribing, the session simply has none yet. */
const SETTLE_MS = 1500;

export function useSessionEvents(sessionId: string | undefined): SessionEvents {
  const [state, setState] = useState<SessionEvents>(EMPTY);
  useEffect(() => {
    setState(EMPTY);
    if (!sessionId) return;
    let events: EventView[] = [];
    let truncated = false;
    let error: string | null = null;
    let reconnecting = false;
    let settled = false;
    let settleTimer: ReturnType<typeof setTimeout> | null = null;
    let lastId = 0;
    let incoming: EventView[] = [];
    let timer: ReturnType<typeof setTimeout> | null = null;
    let closed = false;

    const publish = () => {
      timer = null;
      if (closed) return;
      if (incoming.length > 0) {
        // Almost always already in order (ids only grow); a resumed stream may repeat some.
        const fresh = incoming.filter((e) => e.id > lastId).sort((a, b) => a.id - b.id);
        incoming = [];
        const merged: EventView[] = [];
        for (const e of fresh) {
          if (e.id <= lastId) continue;
          lastId = e.id;
          merged.push(e);
        }
        events = events.concat(merged);
        if (events.length > MAX_EVENTS) {
          events = events.slice(events.length - MAX_EVENTS);
          truncated = true;
        }
      }
      if (events.length > 0) settled = true;
      setState({ events, truncated, error, reconnecting, settled });
    };
    const schedule = (now = false) => {
      if (now) {
        if (timer) clearTimeout(timer);
        publish();
        return;
      }
      timer ??= setTimeout(publish, FLUSH_MS);
    };

    let sub: { unsubscribe(): void } | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let attempts = 0;
    const connect = () => {
      settleTimer ??= setTimeout(() => {
        settled = true;
        schedule(true);
      }, SETTLE_MS);
      // Resumes after the newest event we hold (a reconnect of the socket resumes by itself).
      sub = api.events.follow.subscribe(
        { sessionId, since: lastId },
        {
          onData: (tracked) => {
            incoming.push(tracked.data);
            attempts = 0;
            if (error || reconnecting) {
              error = null;
              reconnecting = false;
            }
            schedule();
          },
          onError: (err) => {
            if (appCodeOf(err) === "CODEPIPER_UNAUTHENTICATED") redirectToLogin();
            // The subscription is over: start it again after a pause (growing, at most 30 s).
            error = messageOf(err);
            reconnecting = true;
            schedule(true);
            sub = null;
            if (closed) return;
            retry = setTimeout(connect, Math.min(30_000, 1000 * 2 ** Math.min(attempts++, 5)));
          },
          onConnectionStateChange: (s) => {
            const down = s.state === "connecting" && s.error !== null;
            if (down === reconnecting) return;
            reconnecting = down;
            error = down ? messageOf(s.error) : null;
            schedule(true);
          },
        },
      );
    };
    connect();
    return () => {
      closed = true;
      if (timer) clearTimeout(timer);
      if (retry) clearTimeout(retry);
      if (settleTimer) clearTimeout(settleTimer);
      sub?.unsubscribe();
    };
  }, [sessionId]);
  return state;
}

/** Which family an event type belongs to (the `source` filter of events.list / codepiper logs). */
export function sourceOf(type: string): EventSource | "other" {
  for (const [name, prefix] of Object.entries(EVENT_SOURCES) as [EventSource, string][]) {
    if (type.startsWith(prefix)) return name;
  }
  return "other";
}
