import { FINAL_STATES, hostFactsSchema, type HostLoad, type HostView } from "@codepiper/core";
import type { Services } from "../services.js";

interface HostRow {
  id: string;
  name: string;
  factsJson: string;
  createdAt: Date;
  lastSeenAt: Date | null;
  connectedAt: Date | null;
  online: boolean;
  revokedAt: Date | null;
  ackedSeq: bigint;
}

/** What a host view adds from outside its row: live sessions (from Session) and load (from Presence). */
export interface HostExtras {
  sessions?: number;
  load?: HostLoad | null;
}

export function toHostView(row: HostRow, extras: HostExtras = {}): HostView {
  let facts = null;
  try {
    const parsed = hostFactsSchema.safeParse(JSON.parse(row.factsJson));
    facts = parsed.success ? parsed.data : null;
  } catch {
    facts = null;
  }
  const isOnline = row.online && !row.revokedAt;
  return {
    id: row.id,
    name: row.name,
    status: isOnline ? "online" : "offline",
    online: isOnline,
    revoked: row.revokedAt !== null,
    version: facts?.agentVersion ?? null,
    protocolVersion: facts?.protocolVersion ?? null,
    os: facts ? `${facts.os.platform} ${facts.os.release}` : null,
    arch: facts?.os.arch ?? null,
    tmuxVersion: facts?.tmuxVersion ?? null,
    providers: facts?.providers ?? [],
    createdAt: row.createdAt.toISOString(),
    lastSeenAt: row.lastSeenAt?.toISOString() ?? null,
    connectedAt: row.connectedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    ackedSeq: Number(row.ackedSeq),
    ...(extras.sessions !== undefined ? { sessions: extras.sessions } : {}),
    ...(extras.load !== undefined ? { load: isOnline ? extras.load : null } : {}),
  };
}

/** Every host with its count of sessions not ended and its last load: `hosts.list` and `hosts.live`. */
export async function listHostViews(services: Services): Promise<HostView[]> {
  const [rows, counts] = await Promise.all([
    services.db.host.findMany({ orderBy: { name: "asc" } }),
    services.db.session.groupBy({ by: ["hostId"], where: { status: { notIn: [...FINAL_STATES] } }, _count: { _all: true } }),
  ]);
  const live = new Map(counts.map((c) => [c.hostId, c._count._all]));
  return rows.map((row) => toHostView(row, { sessions: live.get(row.id) ?? 0, load: services.presence.loadOf(row.id) }));
}
