// Benchmark: simulated hosts held by one control plane, and their reconnect after a control-plane crash
// (DESIGN.md §7: ≥ 1,000 hosts within 1 GiB RSS; every host back within 10 s of a restart, no event lost).
//
// Run alone (from the repo root, after `npx tsc -b`):
//   node --import tsx tests/bench/hosts.ts                       # 1000 hosts, 2 simulator processes, SQLite
//   node --import tsx tests/bench/hosts.ts --hosts 300 --sims 1  # smaller
//   node --import tsx tests/bench/hosts.ts --pg                  # the control plane on PostgreSQL
//   node --import tsx tests/bench/hosts.ts --window 35           # steady-state window in seconds
//   node --import tsx tests/bench/hosts.ts --profile /tmp/prof   # CPU profiles of the control plane
// Writes tests/bench/results/hosts.json. Every simulated host holds one socket and 3 outbox files in a
// simulator process: check `ulimit -n` (≥ 4 × hosts per simulator; run.ts warns).
//
// Steps: `codepiper server` (a child process) with an admin; N hosts enrolled through the public
// hosts.join mutation with freshly generated keys (one admin join token each); the N hosts run in
// --sims forked simulator processes (hosts-sim.ts: the agent's real LinkSupervisor + connectLink +
// signLinkToken + Outbox); once all are online, the control plane's VmRSS and CPU are sampled over a
// steady window long enough for every host to send a heartbeat and ship a few events. Then events are
// appended, the control plane is SIGKILLed, more events are appended while it is down, it is restarted
// on the same port and data, and we time until all N are online again (polling /metrics), then check
// that every host's ackedSeq reached its outbox's last seq and that the Event table holds exactly one
// row per event (nothing lost, nothing doubled).
import { fork, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateHostKeys, gatherFacts, publicPem } from "@codepiper/agent";
import { ADMIN, Fleet, startPostgres, startServer, tempDir, waitFor, type StartedPostgres } from "../src/support/index.js";
import type { SimHostReport, SimShard } from "./hosts-sim.js";
import {
  BENCH_DIR,
  MiB,
  REPO_ROOT,
  adminApi,
  api,
  budget,
  calibrationMs,
  countEventRows,
  cpuSeconds,
  fmt,
  hwmBytes,
  median,
  percentile,
  pool,
  printFigures,
  round,
  rssBytes,
  writeResult,
  type Figure,
  numberArg,
} from "./lib.js";

const N = numberArg("--hosts", 1000);
const SIMS = numberArg("--sims", 2);
const WINDOW_S = numberArg("--window", 35);
const usePg = process.argv.includes("--pg");
const profileDir = process.argv.includes("--profile") ? process.argv[process.argv.indexOf("--profile") + 1] : undefined;
const RSS_TARGET = 1024 * MiB;
const RECONNECT_TARGET_MS = 10_000;

class Simulator {
  private waiters = new Map<string, ((msg: any) => void)[]>();
  readonly exited: Promise<number | null>;
  stderr = "";

  constructor(readonly child: ChildProcess) {
    child.on("message", (msg: { type: string }) => {
      const list = this.waiters.get(msg.type);
      const next = list?.shift();
      if (next) next(msg);
    });
    child.stderr?.on("data", (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-20_000);
    });
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  /** The next message of `type`, with a deadline. */
  next<T>(type: string, timeoutMs = 60_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`simulator ${this.child.pid}: no ${type} within ${timeoutMs} ms\n${this.stderr}`)), timeoutMs);
      const list = this.waiters.get(type) ?? [];
      list.push((msg) => {
        clearTimeout(timer);
        resolve(msg as T);
      });
      this.waiters.set(type, list);
      void this.exited.then((code) => reject(new Error(`simulator exited (${code}) while waiting for ${type}\n${this.stderr}`)));
    });
  }

  async request<T>(cmd: object, reply: string, timeoutMs?: number): Promise<T> {
    const answer = this.next<T>(reply, timeoutMs);
    this.child.send(cmd);
    return answer;
  }
}

async function onlineCount(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^codepiper_hosts_online (\d+)$/m.exec(text)?.[1] ?? NaN);
}

function spread(values: number[]): { min: number; p10: number; p50: number; p90: number; max: number } {
  return { min: Math.min(...values), p10: percentile(values, 10), p50: percentile(values, 50), p90: percentile(values, 90), max: Math.max(...values) };
}

async function main(): Promise<void> {
  budget(295_000, "hosts");
  const startedAt = new Date();
  const calibrationAtStart = calibrationMs();
  const root = tempDir("codepiper-bench-hosts-");
  const pgServer: StartedPostgres | null = usePg ? await startPostgres({ database: "bench" }) : null;
  const fleet = await Fleet.start({ databaseUrl: pgServer?.url });
  const serverEnv = profileDir ? { NODE_OPTIONS: `--import ${join(BENCH_DIR, "cpu-profile-hook.mjs")}`, CODEPIPER_BENCH_PROFILE_DIR: profileDir } : undefined;
  const restartServer = async () => {
    fleet.server = await startServer({ dataDir: fleet.server.dataDir, port: fleet.server.port, databaseUrl: pgServer?.url, env: serverEnv });
  };
  if (profileDir) {
    await fleet.server.proc.stop();
    await restartServer();
  }
  const sims: Simulator[] = [];
  try {
    const admin = await adminApi(fleet.url, ADMIN);
    const anon = api(fleet.url);
    const cpPid = () => fleet.server.proc.child.pid!;
    const rssEmpty = rssBytes(cpPid());

    // ---- enroll N hosts through hosts.join, as `codepiper agent join` does (without spawning N CLIs).
    const facts = await gatherFacts();
    const enrollStarted = performance.now();
    let audience = "";
    const specs = await pool(Array.from({ length: N }, (_, i) => i), 8, async (i) => {
      const keys = generateHostKeys();
      const { token } = await admin.hosts.createJoinToken.mutate({ ttlMs: 3_600_000 });
      const name = `sim-${String(i).padStart(4, "0")}`;
      const joined = await anon.hosts.join.mutate({ token, name, signingPublicKey: publicPem(keys.signing), encryptionPublicKey: publicPem(keys.encryption), facts });
      audience = joined.audience;
      return { hostId: joined.hostId, name, signingKeyPem: keys.signing.export({ type: "pkcs8", format: "pem" }).toString(), dir: join(root, name) };
    });
    const enrollSeconds = (performance.now() - enrollStarted) / 1000;
    console.log(`enrolled ${N} hosts in ${round(enrollSeconds)} s (${fmt(N / enrollSeconds)}/s)`);
    const rssEnrolled = rssBytes(cpPid());

    // ---- run them in SIMS simulator processes.
    const INITIAL_EVENTS = 3;
    const linkStarted = Date.now();
    for (let s = 0; s < SIMS; s++) {
      const shard: SimShard = { url: fleet.url, audience, initialEvents: INITIAL_EVENTS, hosts: specs.filter((_, i) => i % SIMS === s) };
      const file = join(root, `shard-${s}.json`);
      writeFileSync(file, JSON.stringify(shard));
      const child = fork(join(BENCH_DIR, "hosts-sim.ts"), [file], { cwd: REPO_ROOT, execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "pipe", "ipc"] });
      sims.push(new Simulator(child));
    }
    await Promise.all(sims.map((s) => s.next("ready", 120_000)));
    await waitFor(async () => (await onlineCount(fleet.url)) === N, { what: `${N} hosts online`, timeoutMs: 120_000, intervalMs: 200 });
    const initialOnlineMs = Date.now() - linkStarted;
    console.log(`all ${N} hosts online ${fmt(initialOnlineMs)} ms after the simulators started`);

    const report = async (): Promise<SimHostReport[]> => (await Promise.all(sims.map((s) => s.request<{ hosts: SimHostReport[] }>({ cmd: "report" }, "report")))).flatMap((r) => r.hosts);
    const allAcked = async (what: string, timeoutMs: number) => {
      let hosts: SimHostReport[] = [];
      await waitFor(
        async () => {
          hosts = await report();
          const acked = new Map((await admin.hosts.list.query()).map((h) => [h.id, h.ackedSeq]));
          return hosts.every((h) => acked.get(h.hostId) === h.lastSeq && h.pending === 0);
        },
        { what, timeoutMs, intervalMs: 500 },
      );
      return hosts;
    };

    // ---- steady state: N hosts online, heartbeats (every heartbeatMs = 30 s) and a few events each.
    const windowStart = Date.now();
    const cpuStart = cpuSeconds(cpPid());
    const rssSamples: number[] = [];
    const heartbeatsBefore = (await report()).reduce((a, h) => a + h.heartbeats, 0);
    let emittedMidWindow = false;
    while (Date.now() - windowStart < WINDOW_S * 1000) {
      rssSamples.push(rssBytes(cpPid()));
      if (!emittedMidWindow && Date.now() - windowStart > (WINDOW_S * 1000) / 3) {
        emittedMidWindow = true;
        await Promise.all(sims.map((s) => s.request({ cmd: "emit", perHost: 2 }, "emitted")));
      }
      await new Promise((r) => setTimeout(r, 1000)); // sampling period of the measurement window
    }
    const windowSeconds = (Date.now() - windowStart) / 1000;
    const cpuPercent = (100 * (cpuSeconds(cpPid()) - cpuStart)) / windowSeconds;
    const heartbeats = (await report()).reduce((a, h) => a + h.heartbeats, 0) - heartbeatsBefore;
    await allAcked("steady-state events acknowledged", 30_000);
    const rssMedian = median(rssSamples);
    const rssMax = Math.max(...rssSamples);
    const hwm = hwmBytes(cpPid());
    console.log(`steady ${round(windowSeconds)} s: control plane RSS median ${fmt(rssMedian / MiB)} MiB (max ${fmt(rssMax / MiB)}, peak ${fmt(hwm / MiB)}), CPU ${round(cpuPercent)} %, ${heartbeats} heartbeats`);

    // ---- crash: events in flight, SIGKILL, events while down, restart on the same port and data.
    await Promise.all(sims.map((s) => s.request({ cmd: "emit", perHost: 2 }, "emitted")));
    const killAt = Date.now();
    await fleet.server.proc.kill();
    await Promise.all(sims.map((s) => s.request({ cmd: "emit", perHost: 3 }, "emitted")));
    const restartAt = Date.now();
    await restartServer();
    const readyAt = Date.now();
    const cpCpuAtReady = cpuSeconds(cpPid());
    const simCpuAtReady = sims.reduce((a, sim) => a + cpuSeconds(sim.child.pid!), 0);
    let firstOnlineAt = 0;
    const onlineSeries: [number, number][] = [];
    await waitFor(
      async () => {
        const n = await onlineCount(fleet.url);
        if (onlineSeries.at(-1)?.[1] !== n) onlineSeries.push([Date.now() - killAt, n]);
        if (n > 0 && !firstOnlineAt) firstOnlineAt = Date.now();
        return n === N;
      },
      { what: `${N} hosts back online`, timeoutMs: 60_000, intervalMs: 100 },
    ).catch((err: unknown) => {
      console.error(`online count after the kill (ms, hosts): ${JSON.stringify(onlineSeries)}`);
      console.error(`control plane stderr (tail):\n${fleet.server.proc.stderr.slice(-3000)}`);
      for (const sim of sims) console.error(`simulator ${sim.child.pid} stderr (tail):\n${sim.stderr.slice(-3000)}`);
      return report().then((hosts) => {
        const stuck = hosts.filter((h) => !h.onlines.some((t) => t > killAt));
        console.error(`${stuck.length} hosts not back; the first ones (times in ms after the kill):`);
        for (const h of stuck.slice(0, 5)) {
          const rel = (ts: number[]) => ts.filter((t) => t > killAt - 5000).map((t) => t - killAt);
          console.error(JSON.stringify({ host: h.hostId, online: h.online, inFlight: h.inFlight, attempts: rel(h.attempts), opens: rel(h.opens), onlines: rel(h.onlines), closes: rel(h.closes) }));
        }
        throw err;
      });
    });
    const allOnlineAt = Date.now();
    const cpCpuReconnect = cpuSeconds(cpPid()) - cpCpuAtReady;
    const simCpuReconnect = sims.reduce((a, sim) => a + cpuSeconds(sim.child.pid!), 0) - simCpuAtReady;
    const backFromKill = allOnlineAt - killAt;
    const backFromRestart = allOnlineAt - restartAt;
    const backFromReady = allOnlineAt - readyAt;
    console.log(`reconnect phase CPU: control plane ${round(cpCpuReconnect, 2)} s (${round((1000 * cpCpuReconnect) / N, 2)} ms per host), simulators ${round(simCpuReconnect, 2)} s`);
    console.log(`after SIGKILL: restarted in ${fmt(readyAt - restartAt)} ms; all ${N} back online ${fmt(backFromRestart)} ms after the restart, ${fmt(backFromKill)} ms after the kill (${fmt(backFromReady)} ms after the new control plane answered /healthz)`);

    const finalHosts = await allAcked("every outbox acknowledged after the restart", 60_000);
    const drainedAt = Date.now();
    const rows = await countEventRows(fleet.server.dataDir, pgServer?.url);
    const lost = finalHosts.filter((h) => (rows.get(h.hostId) ?? 0) < h.lastSeq).length;
    const doubled = finalHosts.filter((h) => (rows.get(h.hostId) ?? 0) > h.lastSeq).length;
    const totalEvents = finalHosts.reduce((a, h) => a + h.lastSeq, 0);
    const rssAfter = rssBytes(cpPid());
    console.log(`events: ${fmt(totalEvents)} emitted, ${lost} hosts missing events, ${doubled} hosts with extra rows; all acked ${fmt(drainedAt - killAt)} ms after the kill`);

    // ---- the reconnect spread, from the simulators' own clocks.
    const online = finalHosts.map((h) => (h.onlines.find((t) => t > killAt) ?? NaN) - readyAt);
    const firstAttempt = finalHosts.map((h) => (h.attempts.find((t) => t > killAt) ?? NaN) - killAt);
    // Dial → online of the attempt that succeeded: short means hosts waited on their backoff; long means
    // the control plane was saturated by the reconnecting fleet (handshakes queue behind each other).
    const dialToOnline = finalHosts.map((h) => {
      const up = h.onlines.find((t) => t > killAt) ?? NaN;
      return up - Math.max(...h.attempts.filter((t) => t <= up));
    });
    const attemptsPerHost = finalHosts.map((h) => h.attempts.filter((t) => t > killAt && t <= allOnlineAt).length);
    const buckets = new Map<number, number>();
    for (const h of finalHosts) for (const t of h.attempts) if (t > killAt && t <= allOnlineAt) buckets.set(Math.floor((t - killAt) / 100), (buckets.get(Math.floor((t - killAt) / 100)) ?? 0) + 1);
    const peakAttemptsPer100ms = Math.max(0, ...buckets.values());
    const onlineSpread = spread(online);
    console.log(
      `reconnect spread (ms after /healthz): min ${onlineSpread.min} p10 ${onlineSpread.p10} p50 ${onlineSpread.p50} p90 ${onlineSpread.p90} max ${onlineSpread.max}; ` +
        `dial attempts per host ${median(attemptsPerHost)} (median), peak ${peakAttemptsPer100ms} attempts in one 100 ms bucket; ` +
        `dial → online of the successful attempt p50 ${percentile(dialToOnline, 50)} ms, p90 ${percentile(dialToOnline, 90)} ms, max ${Math.max(...dialToOnline)} ms`,
    );

    const figures: Figure[] = [
      { figure: `control plane RSS with ${fmt(N)} hosts online (${usePg ? "PostgreSQL" : "SQLite"})`, target: "≤ 1,024 MiB", measured: round(rssMedian / MiB), unit: "MiB", pass: rssMedian <= RSS_TARGET, note: `median of ${rssSamples.length} samples over ${round(windowSeconds)} s; max ${fmt(rssMax / MiB)}, peak (VmHWM) ${fmt(hwm / MiB)}; ${fmt(rssEmpty / MiB)} MiB with no host` },
      { figure: `simulated hosts held online (${SIMS} simulator process${SIMS > 1 ? "es" : ""})`, target: "≥ 1,000", measured: N, unit: "hosts", pass: N >= 1000 },
      { figure: `control plane CPU with ${fmt(N)} hosts idle-online`, target: "—", measured: round(cpuPercent, 1), unit: "% of one core", pass: null, note: `${heartbeats} heartbeats and ${fmt(2 * N)} events in the window` },
      { figure: `all ${fmt(N)} hosts back online after SIGKILL + restart of the control plane`, target: "≤ 10,000 ms", measured: backFromRestart, unit: "ms from the restart", pass: backFromRestart <= RECONNECT_TARGET_MS, note: `${fmt(backFromKill)} ms from the kill; the new process took ${fmt(readyAt - restartAt)} ms to answer /healthz, then ${fmt(backFromReady)} ms; control plane CPU ${round((1000 * cpCpuReconnect) / N, 1)} ms per reconnecting host` },
      { figure: "events lost or doubled across the crash", target: "0", measured: lost + doubled, unit: "hosts", pass: lost + doubled === 0, note: `${fmt(totalEvents)} events, ackedSeq = outbox last seq on every host` },
      { figure: "reconnect spread (first reconnect, p10 → p90 after /healthz)", target: "jittered, not lockstep", measured: onlineSpread.p90 - onlineSpread.p10, unit: "ms", pass: null, note: `min ${onlineSpread.min}, p50 ${onlineSpread.p50}, max ${onlineSpread.max}; peak ${peakAttemptsPer100ms} dial attempts in a 100 ms bucket; successful dial → online p50 ${percentile(dialToOnline, 50)} ms, p90 ${percentile(dialToOnline, 90)} ms` },
    ];
    printFigures(`${fmt(N)} simulated hosts`, figures);
    const file = writeResult("hosts", startedAt, figures, {
      hosts: N,
      simulators: SIMS,
      database: usePg ? "postgresql" : "sqlite",
      enroll: { seconds: round(enrollSeconds, 2), perSecond: Math.round(N / enrollSeconds) },
      initialOnlineMs,
      rssMiB: { noHosts: round(rssEmpty / MiB), enrolled: round(rssEnrolled / MiB), steadyMedian: round(rssMedian / MiB), steadyMax: round(rssMax / MiB), peak: round(hwm / MiB), afterRestartAndReconnect: round(rssAfter / MiB), perHostKiB: round((rssMedian - rssEnrolled) / N / 1024) },
      steady: { windowSeconds: round(windowSeconds), cpuPercent: round(cpuPercent, 2), heartbeats },
      onlineAfterKill: onlineSeries,
      reconnectCpuSeconds: { controlPlane: round(cpCpuReconnect, 2), controlPlanePerHostMs: round((1000 * cpCpuReconnect) / N, 2), simulators: round(simCpuReconnect, 2) },
      restart: { killToRestartMs: restartAt - killAt, restartMs: readyAt - restartAt, allOnlineFromRestartMs: backFromRestart, firstHostOnlineAfterReadyMs: firstOnlineAt - readyAt, allOnlineFromKillMs: backFromKill, allOnlineFromReadyMs: backFromReady, allAckedFromKillMs: drainedAt - killAt },
      reconnect: {
        onlineMsAfterReady: onlineSpread,
        firstAttemptMsAfterKill: spread(firstAttempt),
        dialToOnlineMs: spread(dialToOnline),
        attemptsPerHost: spread(attemptsPerHost),
        peakAttemptsPer100ms,
        attemptsPer100msBuckets: Object.fromEntries([...buckets].sort((a, b) => a[0] - b[0])),
      },
      events: { total: totalEvents, hostsMissing: lost, hostsDoubled: doubled },
      calibrationMs: { atStart: calibrationAtStart, atEnd: calibrationMs() },
    });
    console.log(`\nwrote ${file}`);
  } finally {
    await Promise.all(
      sims.map(async (s) => {
        if (s.child.exitCode !== null) return;
        await s.request({ cmd: "stop" }, "stopped", 20_000).catch(() => s.child.kill("SIGKILL"));
        await s.exited;
      }),
    );
    if (profileDir) await fleet.server.proc.stop(); // SIGTERM: the profile is written at exit
    await fleet.close();
    await pgServer?.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
