/** Who is calling. Resolved once per HTTP request or per WebSocket connection, at the edge. */
export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

export type Identity =
  | { kind: "anonymous" }
  | { kind: "user"; userId: string; email: string; role: Role; tokenId: string | null; /** set when the caller came with a dashboard cookie */ webSessionId?: string }
  | { kind: "host"; hostId: string; hostName: string; connectionId: string };

export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export function actorOf(identity: Identity): string {
  switch (identity.kind) {
    case "anonymous":
      return "anonymous";
    case "user":
      return identity.tokenId ? `token:${identity.tokenId}` : identity.webSessionId ? `web:${identity.webSessionId}` : `user:${identity.userId}`;
    case "host":
      return `host:${identity.hostId}`;
  }
}
