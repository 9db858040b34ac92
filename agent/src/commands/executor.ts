import { AppError, commandSpecs, type CommandEnvelope, type CommandAck, type CommandType } from "@codepiper/core";
import type { z } from "zod";
import type { Logger } from "../log.js";
import type { Outbox } from "../outbox.js";

type Payload<K extends CommandType> = z.infer<(typeof commandSpecs)[K]>;

/** One handler per command type: adding a type to core without a handler here fails to compile. */
export type CommandHandlers = { [K in CommandType]: (payload: Payload<K>) => Promise<unknown> };

export const pingHandler: CommandHandlers["ping"] = async () => ({ pong: true, agentTime: new Date().toISOString() });

/** Handlers of a link-only agent (simulated hosts in benchmarks, link tests): sessions are refused. */
export function pingOnlyHandlers(): CommandHandlers {
  const refuse = async (): Promise<never> => {
    throw new AppError("CODEPIPER_CONFLICT", "this agent runs no sessions (link-only mode)");
  };
  return { ping: pingHandler, "session.start": refuse, "session.stop": refuse, "session.kill": refuse, "session.resume": refuse, "session.model": refuse };
}

function isCommandType(type: string): type is CommandType {
  return Object.hasOwn(commandSpecs, type);
}

/**
 * Executes durable commands at most once. The journal in the outbox decides:
 *  - never seen: record `started` (committed), run, record the outcome, acknowledge;
 *  - `done`: the acknowledgement was lost; send the recorded outcome again, do not run;
 *  - `started` and still running in this process: the link dropped and the command was streamed
 *    again while it runs; wait for that run and acknowledge its outcome (it is not interrupted);
 *  - `started` only: the agent died while running it; report it as interrupted, do not run.
 */
export class CommandExecutor {
  /** Commands running in this process, by id: the journal says `started` for them too. */
  private readonly running = new Map<string, Promise<CommandAck>>();

  constructor(
    private readonly outbox: Outbox,
    private readonly log: Logger,
    private readonly handlers: CommandHandlers,
  ) {}

  async execute(command: CommandEnvelope): Promise<CommandAck> {
    const inFlight = this.running.get(command.id);
    if (inFlight) return inFlight;
    if (this.outbox.getCommand(command.id)) return this.recordedOutcome(command.id);

    if (!isCommandType(command.type)) {
      return this.reject(command, "CODEPIPER_BAD_INPUT", `this agent does not know command type ${command.type}: upgrade it`);
    }
    if (Date.parse(command.expiresAt) <= Date.now()) {
      return this.reject(command, "CODEPIPER_TIMEOUT", "the command expired before it reached this host");
    }
    const payload = commandSpecs[command.type].safeParse(command.payload);
    if (!payload.success) return this.reject(command, "CODEPIPER_BAD_INPUT", `invalid payload: ${payload.error.issues[0]?.message}`);

    if (!this.outbox.startCommand(command.id, command.type)) return this.recordedOutcome(command.id);
    const run = this.run(command.id, command.type, payload.data);
    this.running.set(command.id, run);
    try {
      return await run;
    } finally {
      this.running.delete(command.id);
    }
  }

  /**
   * Outcomes the control plane may not have received: every journal entry not marked acknowledged
   * (the agent may have died between recording an outcome and hearing the acknowledgement
   * answered, or while a command ran). Commands still running in this process are left out: their
   * own run acknowledges them. Sent after each (re)link, so the journal converges and stays
   * prunable even when the control plane never streams those commands again.
   */
  unacknowledged(): CommandAck[] {
    return this.outbox
      .unackedCommandIds()
      .filter((id) => !this.running.has(id))
      .map((id) => this.recordedOutcome(id));
  }

  private async run(id: string, type: CommandType, payload: unknown): Promise<CommandAck> {
    try {
      const handler = this.handlers[type] as (p: unknown) => Promise<unknown>;
      const result = await handler(payload);
      this.outbox.finishCommand(id, { ok: true, result });
    } catch (err) {
      const code = err instanceof AppError ? err.code : "CODEPIPER_INTERNAL";
      const message = err instanceof AppError ? err.message : "the command failed on the host";
      if (!(err instanceof AppError)) this.log.error({ err, commandId: id, type }, "command failed");
      this.outbox.finishCommand(id, { ok: false, errorCode: code, errorMessage: message });
    }
    return this.ackOf(id);
  }

  /** The outcome of a journaled command that is not running here; `started` means a previous run died. */
  private recordedOutcome(id: string): CommandAck {
    if (this.outbox.getCommand(id)?.state === "started") {
      this.outbox.finishCommand(id, {
        ok: false,
        errorCode: "CODEPIPER_INTERNAL",
        errorMessage: "interrupted: the agent stopped while running this command; it is not run again (at most once)",
      });
    }
    return this.ackOf(id);
  }

  private reject(command: CommandEnvelope, code: string, message: string): CommandAck {
    if (this.outbox.startCommand(command.id, command.type)) this.outbox.finishCommand(command.id, { ok: false, errorCode: code, errorMessage: message });
    return this.ackOf(command.id);
  }

  private ackOf(id: string): CommandAck {
    const rec = this.outbox.getCommand(id);
    if (!rec || rec.state !== "done") throw new Error(`command ${id} has no recorded outcome`);
    return rec.ok
      ? { id, ok: true, result: rec.result }
      : { id, ok: false, error: { code: rec.errorCode ?? "CODEPIPER_INTERNAL", message: rec.errorMessage ?? "failed" } };
  }
}
