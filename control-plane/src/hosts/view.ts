import { hostFactsSchema, type HostView } from "@codepiper/core";

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

export function toHostView(row: HostRow): HostView {
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
  };
}
