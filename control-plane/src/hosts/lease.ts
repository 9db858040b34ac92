import { topics, type Bus } from "../bus/bus.js";
import type { Db } from "../db/index.js";
import type { Logger } from "../log.js";
import type { Presence } from "./presence.js";

/**
 * Presence across replicas (DESIGN.md §5). `Host.online` is shared by every replica on the
 * database, so a replica can neither clear it wholesale at start (the single-node rule: nothing is
 * linked to a process that just started) nor leave it set when it dies.
 *
 * The lease is `Host.lastSeenAt`: the replica holding a host's link renews it every third of the
 * lease (heartbeats renew it too), so "online and seen within the lease" means some live replica
 * holds the link. A holder that stalled past its lease and found its hosts swept says they are
 * online again on its next renewal. A replica that starts clears only the hosts whose lease
 * expired, and every replica sweeps expired ones periodically: a crashed replica's hosts go
 * offline after one lease.
 * No column says which replica holds a link: a host that moves to another replica simply renews
 * from there, and a stale holder record cannot exist.
 */
export class LinkLeases {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Db,
    private readonly bus: Bus,
    private readonly presence: Presence,
    private readonly leaseMs: number,
    private readonly log: Logger,
  ) {}

  /** At start: hosts left online by a replica that is gone (lease expired) go offline. */
  async clearExpired(): Promise<void> {
    await this.sweep();
  }

  start(): void {
    this.timer = setInterval(() => {
      this.renew().catch((err: unknown) => this.log.warn({ err }, "link lease renewal failed"));
    }, Math.max(250, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One period: renew (and if need be revive) the leases of the links held here, then sweep. */
  async renew(): Promise<void> {
    const mine = this.presence.helloedHosts();
    if (mine.length > 0) {
      const now = new Date();
      // Another replica swept one of ours (this process stalled past the lease): the link is alive, say so again.
      const revived = await this.db.host.updateMany({ where: { id: { in: mine }, online: false, revokedAt: null }, data: { online: true, lastSeenAt: now } });
      if (revived.count > 0) {
        this.log.warn({ hosts: revived.count }, "hosts linked here had been marked offline (lease renewed late): online again");
        for (const id of mine) this.bus.publish(topics.hosts, id);
      }
      await this.db.host.updateMany({ where: { id: { in: mine }, online: true }, data: { lastSeenAt: now } });
    }
    await this.sweep();
  }

  private async sweep(): Promise<void> {
    const expiredBefore = new Date(Date.now() - this.leaseMs);
    const mine = this.presence.hosts();
    const where = { online: true, id: { notIn: mine }, OR: [{ lastSeenAt: null }, { lastSeenAt: { lt: expiredBefore } }] };
    const expired = await this.db.host.findMany({ where, select: { id: true } });
    if (expired.length === 0) return;
    // Re-checked in the update: a host that relinked (and renewed) since the read stays online.
    await this.db.host.updateMany({ where: { ...where, id: { in: expired.map((h) => h.id), notIn: mine } }, data: { online: false } });
    this.log.info({ hosts: expired.length }, "link leases expired: hosts marked offline");
    for (const { id } of expired) this.bus.publish(topics.hosts, id);
  }
}
