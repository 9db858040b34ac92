import type { WebSocket } from "ws";
import { z } from "zod";
import { CLOSE_CODES, hostLoadSchema, type HostLoad } from "@codepiper/core";

/**
 * The live links held by this control plane: at most one socket per host. A new link from the
 * same host replaces the old one (the old socket is closed), so a half-dead connection cannot keep
 * a host "online" or receive its commands.
 */
export class Presence {
  private readonly links = new Map<string, { connectionId: string; socket: WebSocket; connectedAt?: Date }>();
  /** The last heartbeat's load per linked host: memory only (it is stale the moment the link ends). */
  private readonly loads = new Map<string, HostLoad>();
  private readonly remoteLoads = new Map<string, HostLoad>();

  /** Registers a link; returns the socket it replaced, already being closed. */
  attach(hostId: string, connectionId: string, socket: WebSocket): void {
    const previous = this.links.get(hostId);
    this.links.set(hostId, { connectionId, socket });
    this.remoteLoads.delete(hostId);
    if (previous && previous.socket !== socket) previous.socket.close(CLOSE_CODES.replaced, "replaced by a newer link");
  }

  /** Forgets a link if it is still the current one; returns whether it was. */
  detach(hostId: string, connectionId: string): boolean {
    const current = this.links.get(hostId);
    if (current?.connectionId !== connectionId) return false;
    this.links.delete(hostId);
    this.loads.delete(hostId);
    return true;
  }

  /** The `connectedAt` this link's hello wrote (replicas: marking it offline must not undo a newer link elsewhere). */
  setConnectedAt(hostId: string, connectionId: string, at: Date): void {
    const current = this.links.get(hostId);
    if (current?.connectionId === connectionId) current.connectedAt = at;
  }

  connectedAtOf(hostId: string, connectionId: string): Date | null {
    const current = this.links.get(hostId);
    return current?.connectionId === connectionId ? (current.connectedAt ?? null) : null;
  }

  /** Hosts linked to this process now. */
  hosts(): string[] {
    return [...this.links.keys()];
  }

  /** Hosts linked to this process whose link said hello (so the database says they are online). */
  helloedHosts(): string[] {
    return [...this.links].filter(([, link]) => link.connectedAt).map(([hostId]) => hostId);
  }

  isCurrent(hostId: string, connectionId: string): boolean {
    return this.links.get(hostId)?.connectionId === connectionId;
  }

  isOnline(hostId: string): boolean {
    return this.links.has(hostId);
  }

  /** Closes a host's link at once (revocation). */
  close(hostId: string, code: number, reason: string): boolean {
    const current = this.links.get(hostId);
    if (!current) return false;
    this.links.delete(hostId);
    this.loads.delete(hostId);
    current.socket.close(code, reason);
    // A peer that does not answer the close handshake must not keep the socket: cut it.
    setTimeout(() => current.socket.terminate(), 1000).unref();
    return true;
  }

  /** Records a heartbeat's load if it came over the current link (a replaced link's late beat is ignored). */
  setLoad(hostId: string, connectionId: string, load: HostLoad): boolean {
    if (!this.isCurrent(hostId, connectionId)) return false;
    this.loads.set(hostId, load);
    return true;
  }

  loadOf(hostId: string): HostLoad | null {
    return this.loads.get(hostId) ?? this.remoteLoads.get(hostId) ?? null;
  }

  /**
   * Replicas: the load of a host linked to another replica, from its `hosts:load` hint. Shown only
   * while the host is online (hosts/view.ts), so a stale entry is harmless; one per host at most.
   */
  noteRemoteLoad(message: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return; // a wake-up after a bus reconnect: no data
    }
    const hint = z.object({ hostId: z.string().max(100), load: hostLoadSchema }).safeParse(parsed);
    if (hint.success && !this.links.has(hint.data.hostId)) this.remoteLoads.set(hint.data.hostId, hint.data.load);
  }

  get size(): number {
    return this.links.size;
  }

  closeAll(code: number, reason: string): void {
    for (const hostId of [...this.links.keys()]) this.close(hostId, code, reason);
  }
}
