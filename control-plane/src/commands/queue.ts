import { AppError, commandSpecs, type CommandEnvelope, type CommandAck, type CommandType, type CommandView, type CommandStatus } from "@codepiper/core";
import { topics } from "../bus/bus.js";
import type { Services } from "../services.js";

/**
 * The durable command stream (DESIGN.md §2): a command is persisted before anyone hears of it,
 * streamed to its host with its id as the tracked event id, executed at most once by the agent,
 * and closed by the agent's acknowledgement or by expiry.
 *
 * Offline hosts: a command waits in `pending` and is delivered once when the host links again,
 * unless its TTL runs out first; then it is marked `expired` (error says so) and never delivered.
 */
interface CommandRow {
  id: bigint;
  hostId: string;
  type: string;
  payloadJson: string;
  status: string;
  createdAt: Date;
  expiresAt: Date;
  deliveredAt: Date | null;
  completedAt: Date | null;
  resultJson: string | null;
  error: string | null;
}

export function toCommandView(row: CommandRow): CommandView {
  return {
    id: String(row.id),
    hostId: row.hostId,
    type: row.type,
    status: row.status as CommandStatus,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
    completedAt: row.completedAt?.toISOString() ?? null,
    result: row.resultJson ? (JSON.parse(row.resultJson) as unknown) : null,
    error: row.error,
  };
}

export async function enqueueCommand<T extends CommandType>(
  services: Services,
  input: { hostId: string; type: T; payload: unknown; ttlMs?: number; createdBy: string | null },
): Promise<CommandRow> {
  const payload = commandSpecs[input.type].safeParse(input.payload);
  if (!payload.success) throw new AppError("CODEPIPER_BAD_INPUT", `invalid ${input.type} command: ${payload.error.issues[0]?.message}`);
  const row = await services.db.command.create({
    data: {
      hostId: input.hostId,
      type: input.type,
      payloadJson: JSON.stringify(payload.data),
      status: "pending",
      createdBy: input.createdBy,
      expiresAt: new Date(Date.now() + (input.ttlMs ?? services.config.commandTtlMs)),
    },
  });
  services.bus.publish(topics.commandsFor(input.hostId), String(row.id));
  return row;
}

/** Commands the host has not acknowledged yet, after `cursor`, oldest first. */
export async function deliverableCommands(services: Services, hostId: string, cursor: bigint, limit: number): Promise<CommandEnvelope[]> {
  const rows = await services.db.command.findMany({
    where: { hostId, id: { gt: cursor }, status: { in: ["pending", "delivered"] }, expiresAt: { gt: new Date() } },
    orderBy: { id: "asc" },
    take: limit,
  });
  if (rows.length > 0) {
    await services.db.command.updateMany({
      where: { id: { in: rows.filter((r) => r.status === "pending").map((r) => r.id) }, status: "pending" },
      data: { status: "delivered", deliveredAt: new Date() },
    });
  }
  return rows.map((r) => ({ id: String(r.id), type: r.type, payload: JSON.parse(r.payloadJson) as unknown, expiresAt: r.expiresAt.toISOString() }));
}

/** Records the host's result. Idempotent: a repeated ack (after a lost answer) changes nothing. */
export async function acknowledgeCommand(services: Services, hostId: string, ack: CommandAck): Promise<{ status: CommandStatus }> {
  const id = BigInt(ack.id);
  // A command that reached the host before its TTL ran out may be acknowledged after the expiry
  // sweep marked it `expired`: record what really happened rather than keep "host offline".
  const { count } = await services.db.command.updateMany({
    where: { id, hostId, OR: [{ status: { in: ["pending", "delivered"] } }, { status: "expired", deliveredAt: { not: null } }] },
    data: {
      status: ack.ok ? "succeeded" : "failed",
      completedAt: new Date(),
      resultJson: ack.result === undefined ? null : JSON.stringify(ack.result),
      error: ack.ok ? null : `${ack.error?.code ?? "CODEPIPER_INTERNAL"}: ${ack.error?.message ?? "failed"}`,
    },
  });
  const row = await services.db.command.findFirst({ where: { id, hostId }, select: { status: true } });
  if (!row) throw new AppError("CODEPIPER_NOT_FOUND", `no command ${ack.id} for this host`);
  if (count > 0) services.bus.publish(topics.commandDone(id), row.status);
  return { status: row.status as CommandStatus };
}

/** Marks overdue commands expired; returns how many. Runs on a timer (see app.ts). */
export async function expireCommands(services: Services): Promise<number> {
  const overdue = await services.db.command.findMany({
    where: { status: { in: ["pending", "delivered"] }, expiresAt: { lte: new Date() } },
    select: { id: true },
    take: 1000,
  });
  if (overdue.length === 0) return 0;
  const { count } = await services.db.command.updateMany({
    where: { id: { in: overdue.map((r) => r.id) }, status: { in: ["pending", "delivered"] } },
    data: { status: "expired", completedAt: new Date(), error: "CODEPIPER_TIMEOUT: expired before the host acknowledged it (host offline past the command's TTL)" },
  });
  for (const { id } of overdue) services.bus.publish(topics.commandDone(id), "expired");
  return count;
}

/** Waits until a command completes or `timeoutMs` passes; returns the row either way. */
export async function awaitCommand(services: Services, id: bigint, timeoutMs: number, signal?: AbortSignal): Promise<CommandRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Subscribe before reading, so a completion between the read and the wait is not missed.
    const stop = new AbortController();
    const wait = services.bus.next(topics.commandDone(id), signal ? AbortSignal.any([signal, stop.signal]) : stop.signal, Math.max(0, deadline - Date.now()));
    const row = await services.db.command.findUnique({ where: { id } });
    if (!row || !["pending", "delivered"].includes(row.status) || Date.now() >= deadline || signal?.aborted) {
      stop.abort();
      if (!row) throw new AppError("CODEPIPER_NOT_FOUND", `no command ${String(id)}`);
      return row;
    }
    await wait;
  }
}
