import { z } from "zod";
import { billingSchema, providerIdSchema, sessionStateSchema, type SessionState, type SessionStateEvent } from "@codepiper/core";
import type { NewEvent, Outbox } from "../outbox.js";

/**
 * What the agent remembers about each session, in the outbox database (so a record and the
 * `session.state` event announcing its change commit in one transaction: after a crash the record
 * and what the control plane was told can never disagree). No secret is stored here: explicit env
 * values stay sealed (only this host's key opens them, in memory), and hook tokens are derived
 * from the host key, not saved.
 */
export const sessionRecordSchema = z.object({
  id: z.string().uuid(),
  provider: providerIdSchema,
  name: z.string().nullable(),
  /** Where the provider runs: the requested directory, or the worktree created for it. */
  cwd: z.string(),
  billing: billingSchema,
  dangerous: z.boolean(),
  model: z.string().nullable(),
  args: z.array(z.string()),
  policySetIds: z.array(z.string()).default([]),
  cols: z.number().int(),
  rows: z.number().int(),
  sealedEnv: z.string().nullable(),
  worktree: z.object({ path: z.string(), branch: z.string(), repo: z.string() }).nullable(),
  state: sessionStateSchema,
  exitCode: z.number().int().nullable(),
  providerSessionId: z.string().nullable(),
  transcriptPath: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
});
export type SessionRecord = z.infer<typeof sessionRecordSchema>;

const KEY_PREFIX = "session:";

export class SessionStore {
  constructor(private readonly outbox: Outbox) {}

  list(): SessionRecord[] {
    const out: SessionRecord[] = [];
    for (const { value } of this.outbox.listCursors(KEY_PREFIX)) {
      const parsed = sessionRecordSchema.safeParse(value);
      if (parsed.success) out.push(parsed.data);
    }
    return out;
  }

  get(id: string): SessionRecord | null {
    const parsed = sessionRecordSchema.safeParse(this.outbox.getCursor(KEY_PREFIX + id));
    return parsed.success ? parsed.data : null;
  }

  /** Saves the record together with events (e.g. its `session.state`), atomically. */
  save(record: SessionRecord, events: readonly NewEvent[] = []): void {
    this.outbox.appendWithCursor(events, { key: KEY_PREFIX + record.id, value: record });
  }

  /**
   * Moves a session to `state` and tells the control plane, in one transaction. Returns the new
   * record, or the old one unchanged when nothing changed (no event for a non-change).
   */
  transition(record: SessionRecord, state: SessionState, info: Omit<SessionStateEvent, "state">): SessionRecord {
    const changedFacts =
      (info.providerSessionId && info.providerSessionId !== record.providerSessionId) ||
      (info.transcriptPath && info.transcriptPath !== record.transcriptPath) ||
      (info.model && info.model !== record.model);
    if (record.state === state && !changedFacts && info.exitCode === undefined) return record;
    const final = state === "stopped" || state === "crashed";
    const next: SessionRecord = {
      ...record,
      state,
      exitCode: info.exitCode !== undefined ? info.exitCode : record.exitCode,
      providerSessionId: info.providerSessionId ?? record.providerSessionId,
      transcriptPath: info.transcriptPath ?? record.transcriptPath,
      model: info.model ?? record.model,
      endedAt: final ? new Date().toISOString() : null,
    };
    const payload: SessionStateEvent = { state, ...info };
    this.save(next, [{ type: "session.state", sessionId: record.id, payload }]);
    return next;
  }
}
