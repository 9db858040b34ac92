// Simulated hosts for tests/bench/hosts.ts: NOT run on its own. hosts.ts forks this file (node --import
// tsx, with an IPC channel) once per shard of enrolled hosts.
//
// Each simulated host runs the agent's real link code: LinkSupervisor (redial with jittered backoff,
// outbox shipping, command stream, heartbeats) over connectLink (tRPC over WebSocket, a fresh EdDSA JWT
// from signLinkToken per connection), with its own durable Outbox file. Only the host facts are shared
// (gathered once per process instead of probing tmux/claude/codex 500 times) and the outbox poll is
// slower (events appended here wake the shipper directly through notifyAppended).
//
// IPC, parent → simulator: { cmd: "emit", perHost } | { cmd: "report" } | { cmd: "stop" }
//      simulator → parent: { type: "ready" } | { type: "emitted" } | { type: "report", hosts } | { type: "stopped" }
import { createPrivateKey } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CommandExecutor, LinkSupervisor, Outbox, connectLink, createAgentLogger, gatherFacts, pingOnlyHandlers, signLinkToken } from "@codepiper/agent";

export interface SimHostSpec {
  hostId: string;
  name: string;
  signingKeyPem: string;
  dir: string;
}

export interface SimShard {
  url: string;
  audience: string;
  hosts: SimHostSpec[];
  /** Events each host appends to its outbox before linking. */
  initialEvents: number;
}

/** What one simulated host saw, as epoch milliseconds. */
export interface SimHostReport {
  hostId: string;
  lastSeq: number;
  pending: number;
  attempts: number[];
  opens: number[];
  onlines: number[];
  closes: number[];
  heartbeats: number;
  /** Link calls started and not settled yet (diagnostics for a host that does not come back). */
  inFlight: Record<string, number>;
  online: boolean;
}

type Message = { cmd: "emit"; perHost: number } | { cmd: "report" } | { cmd: "stop" };

const send = (msg: unknown) => process.send!(msg);

async function main(): Promise<void> {
  const shard = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as SimShard;
  const facts = await gatherFacts();
  const log = createAgentLogger({ level: process.env.CODEPIPER_SIM_LOG_LEVEL ?? "error" });
  const controller = new AbortController();
  let emitted = 0;

  const hosts = shard.hosts.map((spec) => {
    mkdirSync(spec.dir, { recursive: true });
    const outbox = new Outbox(join(spec.dir, "outbox.db"));
    const key = createPrivateKey(spec.signingKeyPem);
    const rec: SimHostReport = { hostId: spec.hostId, lastSeq: 0, pending: 0, attempts: [], opens: [], onlines: [], closes: [], heartbeats: 0, inFlight: {}, online: false };
    const track = <T>(name: string, p: Promise<T>): Promise<T> => {
      rec.inFlight[name] = (rec.inFlight[name] ?? 0) + 1;
      const settle = () => {
        rec.inFlight[name]! -= 1;
      };
      p.then(settle, settle);
      return p;
    };
    const emit = (n: number) => {
      if (n <= 0) return;
      outbox.append(Array.from({ length: n }, () => ({ type: "bench.sim", payload: { host: spec.name, n: ++emitted } })));
    };
    emit(shard.initialEvents);
    const supervisor = new LinkSupervisor({
      controlPlaneUrl: shard.url,
      sign: () => signLinkToken({ key, hostId: spec.hostId, audience: shard.audience }),
      facts: async () => facts,
      outbox,
      executor: new CommandExecutor(outbox, log, pingOnlyHandlers()),
      log,
      pollMs: 5_000,
      connect: (opts) => {
        rec.attempts.push(Date.now());
        const link = connectLink({
          ...opts,
          onOpen: () => {
            rec.opens.push(Date.now());
            opts.onOpen();
          },
          onClose: (code) => {
            rec.closes.push(Date.now());
            opts.onClose(code);
          },
        });
        return {
          ...link,
          pushEvents: (batch) => track("pushEvents", link.pushEvents(batch)),
          ackCommand: (ack) => track("ackCommand", link.ackCommand(ack)),
          close: () => track("close", link.close()),
          hello: async (f) => {
            const out = await track("hello", link.hello(f));
            rec.onlines.push(Date.now());
            return out;
          },
          heartbeat: async (load) => {
            await track("heartbeat", link.heartbeat(load));
            rec.heartbeats++;
          },
        };
      },
    });
    const done = supervisor.run(controller.signal);
    return { spec, outbox, rec, supervisor, done, emit };
  });
  send({ type: "ready" });

  process.on("message", (msg: Message) => {
    if (msg.cmd === "emit") {
      for (const h of hosts) {
        h.emit(msg.perHost);
        h.supervisor.notifyAppended();
      }
      send({ type: "emitted" });
    } else if (msg.cmd === "report") {
      send({
        type: "report",
        hosts: hosts.map((h) => ({ ...h.rec, lastSeq: h.outbox.lastSeq(), pending: h.outbox.pending(), online: h.supervisor.online })),
      });
    } else if (msg.cmd === "stop") {
      controller.abort();
      void Promise.all(hosts.map((h) => h.done)).then(() => {
        for (const h of hosts) h.outbox.close();
        send({ type: "stopped" });
        process.disconnect();
      });
    }
  });
  // The parent died (or closed the channel): do not linger.
  process.on("disconnect", () => {
    controller.abort();
    setTimeout(() => process.exit(0), 2000).unref();
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
