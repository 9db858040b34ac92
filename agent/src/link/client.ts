import { createTRPCClient, createWSClient, wsLink, type TRPCClient } from "@trpc/client";
import type { AppRouter } from "@codepiper/control-plane";
import type { CommandAck, CommandEnvelope, EphemeralReply, EphemeralRequest, EventBatch, HelloOutput, HostFacts, HostLoad, IngestResult, PolicyBundle, TerminalPush } from "@codepiper/core";
import { PATHS } from "@codepiper/core";
import { authenticatedWebSocket, type LinkRefusal } from "./socket.js";

/**
 * The narrow interface through which the agent reaches the control plane. The link supervisor
 * only sees this, so tests can hand it an in-memory fake (as Coder's agenttest does).
 */
export interface ControlPlaneLink {
  hello(facts: HostFacts): Promise<HelloOutput>;
  heartbeat(load: HostLoad): Promise<void>;
  pushEvents(batch: EventBatch): Promise<IngestResult>;
  ackCommand(ack: CommandAck): Promise<void>;
  /** Streams durable commands; tRPC resumes from the last tracked id on its own reconnects. */
  commands(onCommand: (command: CommandEnvelope) => void, onError: (err: unknown) => void): () => void;
  /** The ephemeral stream (keystrokes, terminal, pre-flight); answer each request with reply(). */
  ephemeral(onRequest: (request: EphemeralRequest) => void, onError: (err: unknown) => void): () => void;
  reply(reply: EphemeralReply): Promise<void>;
  pushTerminal(push: TerminalPush): Promise<void>;
  policyBundle(haveVersion: number | null): Promise<PolicyBundleAnswer>;
  requestApproval(request: ApprovalRequest): Promise<{ id: string; expiresAt: string }>;
  awaitApproval(id: string, signal?: AbortSignal): Promise<ApprovalAnswer>;
  withdrawApproval(id: string): Promise<void>;
  close(): Promise<void>;
}

export type PolicyBundleAnswer = { changed: false; version: number } | { changed: true; bundle: PolicyBundle & { approvalTimeoutMs: number } };
export interface ApprovalRequest {
  sessionId: string;
  tool: string;
  args: Record<string, unknown>;
  cwd: string | null;
  policyId: string | null;
  policyName: string | null;
  ruleIndex: number | null;
  reason: string | null;
  timeoutMs: number;
}
export interface ApprovalAnswer {
  status: string;
  decidedBy: string | null;
  reason: string | null;
}

export interface LinkConnectOptions {
  controlPlaneUrl: string;
  sign: () => string;
  onOpen: () => void;
  onClose: (code: number | undefined) => void;
  onRefused: (refusal: LinkRefusal) => void;
  keepAliveMs: number;
}

export function linkUrl(controlPlaneUrl: string): string {
  const url = new URL(PATHS.link, controlPlaneUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

/**
 * Opens one tRPC-over-WebSocket link. A link is used once: when its socket fails or closes, the
 * caller (the supervisor) redials with jittered backoff and a fresh JWT on a new link, so tRPC's own
 * reconnect must never run.
 *
 * Parking it behind a huge retry delay is not enough: tRPC schedules its reconnect with an
 * uncancellable timer (sleep) the moment the socket errors or closes, and that timer holds the
 * whole client until it fires, even after close(). With a 24-hour delay every failed attempt kept
 * ~8 KiB alive for a day: ~100 MiB over a day-long control-plane outage at the backoff cap. So the
 * client is retired in its own error/close callbacks, which tRPC calls just *before* it would
 * schedule the reconnect: close() turns reconnecting off, and no timer is created at all.
 */
export function connectLink(opts: LinkConnectOptions): ControlPlaneLink {
  let retired = false;
  const retire = () => {
    if (retired) return;
    retired = true;
    wsClient.close().catch(() => undefined);
  };
  const wsClient = createWSClient({
    url: linkUrl(opts.controlPlaneUrl),
    WebSocket: authenticatedWebSocket({ sign: opts.sign, onRefused: opts.onRefused }) as unknown as typeof globalThis.WebSocket,
    // Belt and braces: should tRPC ever get to its reconnect, it must not race the supervisor.
    retryDelayMs: () => 24 * 3_600_000,
    keepAlive: { enabled: true, intervalMs: opts.keepAliveMs, pongTimeoutMs: 10_000 },
    onOpen: opts.onOpen,
    onError: retire,
    onClose: (cause) => {
      retire();
      opts.onClose(cause?.code);
    },
  });
  const trpc: TRPCClient<AppRouter> = createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient })] });
  return {
    hello: (facts) => trpc.link.hello.mutate({ facts }),
    heartbeat: async (load) => {
      await trpc.link.heartbeat.mutate({ load });
    },
    pushEvents: (batch) => trpc.link.pushEvents.mutate(batch),
    ackCommand: async (ack) => {
      await trpc.link.ackCommand.mutate(ack);
    },
    commands(onCommand, onError) {
      const sub = trpc.link.commands.subscribe(undefined, {
        onData: (tracked) => onCommand({ ...tracked.data, payload: tracked.data.payload }),
        onError,
      });
      return () => sub.unsubscribe();
    },
    ephemeral(onRequest, onError) {
      const sub = trpc.link.ephemeral.subscribe(undefined, { onData: (r) => onRequest({ ...r, payload: r.payload }), onError });
      return () => sub.unsubscribe();
    },
    reply: async (reply) => {
      await trpc.link.reply.mutate(reply);
    },
    pushTerminal: async (push) => {
      await trpc.link.terminal.mutate(push);
    },
    policyBundle: (haveVersion) => trpc.link.policyBundle.query({ haveVersion }),
    requestApproval: (request) => trpc.link.requestApproval.mutate(request),
    awaitApproval: (id, signal) => trpc.link.awaitApproval.mutate({ id }, { signal }),
    withdrawApproval: async (id) => {
      await trpc.link.withdrawApproval.mutate({ id });
    },
    close: () => wsClient.close(),
  };
}
