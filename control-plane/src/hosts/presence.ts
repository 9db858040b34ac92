import type { WebSocket } from "ws";
import { CLOSE_CODES, type HostLoad } from "@codepiper/core";

/**
 * The live links held by this control plane: at most one socket per host. A new link from the
 * same host replaces the old one (the old socket is closed), so a half-dead connection cannot keep
 * a host "online" or receive its commands.
 */
export class Presence {
  private readonly links = new Map<string, { connectionId: string; socket: WebSocket }>();
  /** The last heartbeat's load per linked host: memory only (it is stale the moment the link ends). */
  private readonly loads = new Map<string, HostLoad>();

  /** Registers a link; returns the socket it replaced, already being closed. */
  attach(hostId: string, connectionId: string, socket: WebSocket): void {
    const previous = this.links.get(hostId);
    this.links.set(hostId, { connectionId, socket });
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
    return this.loads.get(hostId) ?? null;
  }

  get size(): number {
    return this.links.size;
  }

  closeAll(code: number, reason: string): void {
    for (const hostId of [...this.links.keys()]) this.close(hostId, code, reason);
  }
}
