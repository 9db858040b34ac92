/** Size bounds shared by both ends of every boundary. Exceeding one is a clear error, not a crash. */
export const LIMITS = {
  /** Largest WebSocket message the control plane accepts on the link. */
  linkMessageBytes: 4 * 1024 * 1024,
  /** Largest WebSocket message from a user client. */
  userMessageBytes: 1024 * 1024,
  /** Largest serialized payload of one event. */
  eventPayloadBytes: 64 * 1024,
  /** Most events in one batch shipped by an agent. */
  eventBatchSize: 1000,
  /** Largest serialized command payload. */
  commandPayloadBytes: 256 * 1024,
  /** Host names: DNS-label-like. */
  hostNameMax: 63,
  /** Page size bound for list queries. */
  pageMax: 10_000,
} as const;
