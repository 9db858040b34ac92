// Benchmark: keystroke → echo (DESIGN.md §7: client → control plane → agent → tmux → back,
// p50 ≤ 10 ms, p99 ≤ 30 ms).
//
// Run alone (from the repo root, after `npx tsc -b`):
//   node --import tsx tests/bench/keystroke.ts             # N=300 each
//   node --import tsx tests/bench/keystroke.ts --n 100
// Writes tests/bench/results/keystroke.json.
//
// A control plane, an `agent run` process and a fake-provider session (it echoes each typed
// character, like a TUI in raw mode). The CLI's client (cli/src/client.ts) subscribes to
// sessions.terminal over its WebSocket; then, one character at a time, sessions.input (base64 over
// HTTP) and the clock runs until that character arrives in an `output` frame.
//
// Baseline, same run, on a second session of the same agent: what the design replaces — the
// keystroke sent with `tmux send-keys` and the screen polled with `tmux capture-pane` (back to
// back, no sleep: the best case for polling) directly on the agent's tmux socket.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { budget, fmt, percentile, printFigures, round, writeResult, type Figure, runBench, numberArg } from "./lib.js";
import { startSessionBench } from "./session-lib.js";

const run = promisify(execFile);
const N = numberArg("--n", 300);
const WARMUP = 20;
const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

function stats(samples: number[]) {
  return {
    n: samples.length,
    p50: round(percentile(samples, 50), 3),
    p90: round(percentile(samples, 90), 3),
    p99: round(percentile(samples, 99), 3),
    max: round(Math.max(...samples), 3),
  };
}

async function main(): Promise<void> {
  budget(150_000, "keystroke");
  const startedAt = new Date();
  const bench = await startSessionBench("keys-host");
  try {
    const [s, sBase] = [await bench.start(), await bench.start()];
    const { api } = bench.api;

    // The live terminal, as `codepiper attach` sees it.
    let waiting: { ch: string; resolve: (ms: number) => void } | null = null;
    let snapshot = false;
    let frames = 0;
    const sub = api.sessions.terminal.subscribe(
      { session: s.id },
      {
        onData(frame) {
          frames++;
          if (frame.kind === "snapshot") snapshot = true;
          if (frame.kind !== "output" || !waiting) return;
          if (Buffer.from(frame.data, "base64").toString("utf8").includes(waiting.ch)) {
            const w = waiting;
            waiting = null;
            w.resolve(performance.now());
          }
        },
        onError(err) {
          console.error("terminal subscription failed:", err);
        },
      },
    );
    const deadline = Date.now() + 15_000;
    while (!snapshot && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (!snapshot) throw new Error("no snapshot from sessions.terminal");

    const keystroke = async (ch: string): Promise<number> => {
      const echoed = new Promise<number>((resolve, reject) => {
        waiting = { ch, resolve };
        setTimeout(() => reject(new Error(`no echo of ${ch} within 5 s`)), 5_000).unref();
      });
      const started = performance.now();
      const sent = api.sessions.input.mutate({ session: s.id, data: Buffer.from(ch).toString("base64") });
      const at = await echoed;
      await sent;
      return at - started;
    };
    for (let k = 0; k < WARMUP; k++) await keystroke(ALPHABET[k % ALPHABET.length]!);
    const viaApi: number[] = [];
    for (let k = 0; k < N; k++) viaApi.push(await keystroke(ALPHABET[(k * 7) % ALPHABET.length]!));
    sub.unsubscribe();
    const apiStats = stats(viaApi);
    console.log(`API + WebSocket: p50 ${apiStats.p50} ms, p99 ${apiStats.p99} ms (max ${apiStats.max}), ${frames} frames`);

    // Baseline: tmux send-keys + capture-pane polling on the second session.
    const tmux = (args: string[]) => run("tmux", ["-S", bench.tmuxSocket, ...args]).then((r) => r.stdout);
    const target = `=${sBase.tmuxName}:`;
    let typed = "";
    let polls = 0;
    const pollKeystroke = async (ch: string): Promise<number> => {
      typed += ch;
      const tail = typed.slice(-16);
      const started = performance.now();
      await tmux(["send-keys", "-t", target, "-l", ch]);
      for (;;) {
        polls++;
        const screen = await tmux(["capture-pane", "-p", "-J", "-t", target]);
        if (screen.replace(/\n/g, "").includes(tail)) return performance.now() - started;
        if (performance.now() - started > 5_000) throw new Error(`capture-pane never showed ${tail}`);
      }
    };
    // A random sequence: the last 16 typed characters identify the newest one on screen.
    const rnd = () => ALPHABET[Math.floor(Math.random() * ALPHABET.length)]!;
    for (let k = 0; k < WARMUP; k++) await pollKeystroke(rnd());
    polls = 0;
    const viaPoll: number[] = [];
    for (let k = 0; k < N; k++) viaPoll.push(await pollKeystroke(rnd()));
    const pollStats = stats(viaPoll);
    console.log(`tmux send-keys + capture-pane polling: p50 ${pollStats.p50} ms, p99 ${pollStats.p99} ms, ${round(polls / N, 2)} polls per keystroke`);

    if (!bench.fp.host.agent?.running) throw new Error(`the agent exited during the run:\n${bench.fp.host.agent?.stderr}`);
    const figures: Figure[] = [
      { figure: "keystroke → echo, client → control plane → agent → tmux → back — p50", target: "≤ 10 ms", measured: apiStats.p50, unit: "ms", pass: apiStats.p50 <= 10, note: `N=${N}: sessions.input (HTTP) → output frame on the sessions.terminal WebSocket; baseline tmux send-keys + capture-pane polling: p50 ${pollStats.p50} ms` },
      { figure: "keystroke → echo — p99", target: "≤ 30 ms", measured: apiStats.p99, unit: "ms", pass: apiStats.p99 <= 30, note: `max ${fmt(apiStats.max, 1)} ms; baseline (polling) p99 ${pollStats.p99} ms, ${round(polls / N, 2)} capture-pane calls per keystroke` },
    ];
    printFigures("keystroke → echo", figures);
    const file = writeResult("keystroke", startedAt, figures, { n: N, warmup: WARMUP, viaApi: apiStats, viaTmuxPolling: { ...pollStats, pollsPerKeystroke: round(polls / N, 2) }, framesReceived: frames });
    console.log(`\nwrote ${file}`);
  } finally {
    await bench.close();
  }
}

runBench(main);
