import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InProcessBus, topics } from "../bus/bus.js";
import { openDatabase, type Database } from "../db/index.js";
import { createLogger } from "../log.js";
import { LinkLeases } from "./lease.js";
import { Presence } from "./presence.js";

const LEASE_MS = 30_000;
const log = createLogger({ level: "silent" });
const fakeSocket = { close: () => undefined, terminate: () => undefined } as unknown as WebSocket;

describe("LinkLeases (presence across replicas)", () => {
  let dir: string;
  let database: Database;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "codepiper-lease-"));
    database = await openDatabase({ url: `file:${path.join(dir, "cp.db")}` });
  });
  afterAll(async () => {
    await database?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function host(name: string, online: boolean, seenMsAgo: number | null) {
    const id = `${name}-id`;
    await database.prisma.host.create({
      data: { id, name, signingPublicKey: "-", encryptionPublicKey: "-", factsJson: "{}", online, lastSeenAt: seenMsAgo === null ? null : new Date(Date.now() - seenMsAgo) },
    });
    return id;
  }
  const onlineOf = async (id: string) => (await database.prisma.host.findUniqueOrThrow({ where: { id } })).online;

  it("a starting replica clears only expired leases; the sweep tells the bus", async () => {
    const fresh = await host("fresh", true, 1000);
    const expired = await host("expired", true, LEASE_MS + 5000);
    const never = await host("never-seen", true, null);
    const bus = new InProcessBus();
    const told: string[] = [];
    bus.subscribe(topics.hosts, (id) => told.push(id));
    await new LinkLeases(database.prisma, bus, new Presence(), LEASE_MS, log).clearExpired();
    expect([await onlineOf(fresh), await onlineOf(expired), await onlineOf(never)]).toEqual([true, false, false]);
    expect(told.sort()).toEqual([expired, never].sort());
  });

  it("the holder renews its links' leases, and says online again if another replica swept one", async () => {
    const held = await host("held", false, LEASE_MS + 5000);
    const notHelloed = await host("no-hello", true, LEASE_MS + 5000);
    const presence = new Presence();
    presence.attach(held, "c1", fakeSocket);
    presence.setConnectedAt(held, "c1", new Date());
    presence.attach(notHelloed, "c2", fakeSocket);
    await new LinkLeases(database.prisma, new InProcessBus(), presence, LEASE_MS, log).renew();
    const row = await database.prisma.host.findUniqueOrThrow({ where: { id: held } });
    expect(row.online).toBe(true);
    expect(Date.now() - row.lastSeenAt!.getTime()).toBeLessThan(5000);
    // Linked here (not swept) but without a hello: not renewed, not revived either.
    expect(await onlineOf(notHelloed)).toBe(true);
  });
});
