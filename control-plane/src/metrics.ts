import type { Services } from "./services.js";

/** Process-wide counters, exposed at /metrics in the Prometheus text format. */
export const metrics = {
  linkConnections: 0,
  refusedUpgrades: 0,
  eventsIngested: 0,
};

export async function renderMetrics(services: Services): Promise<string> {
  const [hosts, online] = await Promise.all([services.db.host.count(), services.db.host.count({ where: { online: true } })]);
  const mem = process.memoryUsage();
  return [
    `# TYPE codepiper_hosts gauge`,
    `codepiper_hosts ${hosts}`,
    `# TYPE codepiper_hosts_online gauge`,
    `codepiper_hosts_online ${online}`,
    `# TYPE codepiper_link_connections gauge`,
    `codepiper_link_connections ${metrics.linkConnections}`,
    `# TYPE codepiper_refused_upgrades_total counter`,
    `codepiper_refused_upgrades_total ${metrics.refusedUpgrades}`,
    `# TYPE codepiper_events_ingested_total counter`,
    `codepiper_events_ingested_total ${metrics.eventsIngested}`,
    `# TYPE process_resident_memory_bytes gauge`,
    `process_resident_memory_bytes ${mem.rss}`,
    "",
  ].join("\n");
}
