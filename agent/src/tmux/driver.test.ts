import { execFile, spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor as pollUntil } from "../../../tests/src/support/wait.js";
import { TmuxDriver, type ExecResult, type TmuxExec } from "./driver.js";
import { MAX_ENV_BYTES } from "./envsocket.js";
import { envFileContents } from "./launch.js";

/** Polls with a deadline (the shared test helper); never a fixed sleep. */
const waitFor = <T>(probe: () => Promise<T> | T, what: string, timeoutMs = 20_000) => pollUntil(probe, { what, timeoutMs, intervalMs: 20 });

function psArgs(): Promise<string> {
  return new Promise((resolve, reject) => {
    const ps = spawn("ps", ["-eo", "args"], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    ps.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    ps.on("error", reject);
    ps.on("close", () => resolve(out));
  });
}

/** Every regular file under `root` (recursively) whose bytes contain `needle`: where a leaked value would sit. */
function filesContaining(root: string, needle: string): string[] {
  const hits: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) hits.push(...filesContaining(path, needle));
    else if (entry.isFile()) {
      try {
        if (readFileSync(path).includes(needle)) hits.push(path);
      } catch {
        // vanished between readdir and read
      }
    }
  }
  return hits;
}

/** The real tmux exec (what the driver uses by default), so a test can wrap it. */
const realExec: TmuxExec = (file, args, env) =>
  new Promise((resolve) => {
    execFile(file, args, { env, encoding: "utf8" }, (err, stdout, stderr) => resolve({ stdout, stderr, code: typeof err?.code === "number" ? err.code : err ? 1 : 0 }));
  });

/** The env ticket in a new-session argv: `/bin/sh -c <wrapper> codepiper-launch <node> <client> <socket> <nonce> <command…>`. */
function ticketIn(args: readonly string[]): { node: string; client: string; socket: string; nonce: string; wrapperArgv: string[] } {
  const at = args.indexOf("codepiper-launch");
  expect(at).toBeGreaterThan(2);
  const [node, client, socket, nonce] = args.slice(at + 1, at + 5) as [string, string, string, string];
  const end = args.indexOf(";", at);
  return { node, client, socket, nonce, wrapperArgv: args.slice(at - 3, end === -1 ? undefined : end) };
}

/** Runs the env client the way the wrapper does. */
function fetchEnv(t: { node: string; client: string; socket: string }, nonce: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(t.node, [t.client, t.socket, nonce], { encoding: "utf8" }, (err, stdout, stderr) => resolve({ code: typeof err?.code === "number" ? err.code : 0, stdout, stderr }));
  });
}

/** One raw request on the env socket; resolves to the reply line. */
function rawRequest(socket: string, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(socket);
    let out = "";
    c.on("connect", () => c.write(bytes));
    c.on("data", (d: Buffer) => (out += d.toString("utf8")));
    c.on("error", reject);
    c.on("close", () => resolve(out));
  });
}

const name = (): string => `codepiper-${randomUUID()}`;
const shell = ["bash", "--norc", "--noprofile"];
const shellEnv = { PS1: "$ ", TERM: "xterm-256color", PATH: process.env.PATH ?? "/usr/bin:/bin" };

let dir: string;
let driver: TmuxDriver;
let other: TmuxDriver;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "cp-tmux-"));
  driver = new TmuxDriver(join(dir, "a.sock"));
  other = new TmuxDriver(join(dir, "b.sock"));
});

afterAll(async () => {
  await driver.killServer();
  await other.killServer();
  await driver.close();
  await other.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("TmuxDriver against real tmux", () => {
  it("reports the version", async () => {
    expect(await driver.version()).toMatch(/^\d+\.\d+/);
  });

  it("runs bash, types text and keys, and captures the output", async () => {
    const s = name();
    await driver.newSession({ name: s, cwd: dir, command: shell, env: shellEnv, cols: 100, rows: 30 });
    expect(await driver.hasSession(s)).toBe(true);
    // capture-pane trims trailing blanks, so the "$ " prompt reads as "$".
    await waitFor(async () => /^\$/m.test(await driver.capture(s)), "prompt");
    await driver.sendText(s, "echo out-$((6*7))", { enter: true });
    await waitFor(async () => (await driver.capture(s)).includes("out-42"), "echo output");
    // backspace removes the typed "X" before enter; `;` at the end of the text survives tmux's parser.
    await driver.sendText(s, "echo keys-ok;X");
    await driver.sendKeys(s, ["backspace", "enter"]);
    await waitFor(async () => /^keys-ok$/m.test(await driver.capture(s)), "keys output");
    await driver.sendText(s, "sleep 1000", { enter: true });
    // Interrupt only once sleep runs: a ctrl+c that lands while bash is still forking is lost.
    const { pid } = await driver.paneInfo(s);
    await waitFor(() => spawnSync("ps", ["-o", "comm=", "--ppid", String(pid)], { encoding: "utf8" }).stdout.includes("sleep"), "sleep running");
    await driver.sendKeys(s, ["ctrl+c"]);
    await driver.sendText(s, "echo after-$((1+1))", { enter: true });
    await waitFor(async () => (await driver.capture(s)).includes("after-2"), "ctrl+c interrupted sleep");
    await expect(driver.sendKeys(s, ["enter", "hyper+q"])).rejects.toThrow(/unknown key "hyper\+q"/);
    const info = await driver.paneInfo(s);
    expect(info).toMatchObject({ dead: false, exitStatus: null, cols: 100, rows: 30, alternateScreen: false });
    expect(info.pid).toBeGreaterThan(1);
    expect(info.paneId).toMatch(/^%\d+$/);
  });

  it("captures escapes and scrollback on request", async () => {
    const s = name();
    await driver.newSession({ name: s, cwd: dir, command: ["bash", "-c", "seq 1 200; printf '\\033[31mred\\033[0m\\n'; exec cat"], env: {}, cols: 80, rows: 10 });
    await waitFor(async () => (await driver.capture(s)).includes("red"), "red");
    expect(await driver.capture(s)).not.toContain("\u001b[31m");
    expect(await driver.capture(s, { escapes: true })).toContain("\u001b[31mred");
    const plain = await driver.capture(s);
    const deep = await driver.capture(s, { scrollback: 500 });
    expect(plain).not.toMatch(/^1$/m);
    expect(deep).toMatch(/^1$/m);
  });

  it("keeps a command that exits 3 observable as dead with status 3", async () => {
    const s = name();
    await driver.newSession({ name: s, cwd: dir, command: ["sh", "-c", "exit 3"], env: {}, cols: 80, rows: 24 });
    const info = await waitFor(async () => {
      const i = await driver.paneInfo(s);
      // tmux marks the pane dead on pty EOF and learns the status on SIGCHLD (which paneInfo
      // re-sends when libutempter swallowed it): poll until both are known.
      return i.dead && i.exitStatus !== null ? i : null;
    }, "pane dead with a status");
    expect(info.exitStatus).toBe(3);
    await driver.kill(s);
    expect(await driver.hasSession(s)).toBe(false);
  });

  it("passes argv untouched, including spaces, quotes and a trailing semicolon", async () => {
    const s = name();
    const args = ["a b", "it's", "$HOME", "x;", "-t", "\\;"];
    await driver.newSession({ name: s, cwd: dir, command: ["sh", "-c", 'for a in "$@"; do printf "<%s>" "$a"; done; echo; exec cat', "sh", ...args], env: {}, cols: 120, rows: 10 });
    const expected = args.map((a) => `<${a}>`).join("");
    await waitFor(async () => (await driver.capture(s)).includes(expected), `argv ${expected}`);
  });

  it("gives the process its env without a value in any argv or any file, and with every byte intact", async () => {
    const s = name();
    const secret = `sk-${randomUUID()}`;
    // Quotes of both kinds, $, backquotes, backslashes, newlines (also trailing) and non-ASCII survive.
    const weird = `it's "q" $HOME \`id\` $(id) \\n \\'\nsecond line ${secret}\n\n\u00e9\u{1F600}\n`;
    const outDir = mkdtempSync(join(tmpdir(), "cp-tmux-out-"));
    const snapshots: string[] = [];
    const scans: string[][] = [];
    let starting = true;
    // Sample every process's argv (and the state dir) for as long as the session is starting.
    const sampler = (async () => {
      while (starting) {
        snapshots.push(await psArgs());
        scans.push(filesContaining(dir, secret));
      }
    })();
    try {
      await driver.newSession({
        name: s,
        cwd: outDir,
        command: ["sh", "-c", 'printf %s "$CP_SECRET" > secret.out; printf %s "$CP_WEIRD" > weird.out; printf "%s|%s\\n" "$CP_SECRET" "$CP_PLAIN"; exec cat'],
        env: { CP_SECRET: secret, CP_PLAIN: "it's plain", CP_WEIRD: weird },
        cols: 200,
        rows: 10,
      });
      scans.push(filesContaining(dir, secret));
      await waitFor(async () => (await driver.capture(s)).includes(`${secret}|it's plain`), "env printed");
    } finally {
      starting = false;
      await sampler;
    }
    expect(readFileSync(join(outDir, "secret.out"), "utf8")).toBe(secret);
    expect(readFileSync(join(outDir, "weird.out"), "utf8")).toBe(weird);
    rmSync(outDir, { recursive: true, force: true });
    expect(snapshots.length).toBeGreaterThan(0);
    for (const snap of snapshots) expect(snap).not.toContain(secret);
    expect(scans.length).toBeGreaterThan(1);
    for (const scan of scans) expect(scan).toEqual([]);
    expect(filesContaining(dir, secret)).toEqual([]);
    // The only things the driver put in the state dir: the 0600 socket and its (value-free) client.
    expect(lstatSync(driver.envSocket.socketPath).isSocket()).toBe(true);
    expect(statSync(driver.envSocket.socketPath).mode & 0o777).toBe(0o600);
    expect(statSync(driver.envSocket.clientPath).mode & 0o777).toBe(0o600);
    // The pane redeemed its nonce: nothing is left waiting.
    expect(driver.envSocket.pendingCount).toBe(0);
    // Nor is it in tmux's session or global environment, which anyone on the socket could list.
    const showEnv = await new Promise<string>((resolve) => {
      const p = spawn("tmux", ["-S", driver.socketPath, "show-environment", "-t", `=${s}`], { stdio: ["ignore", "pipe", "ignore"] });
      let out = "";
      p.stdout.on("data", (d: Buffer) => (out += d.toString()));
      p.on("close", () => resolve(out));
    });
    const showGlobal = await new Promise<string>((resolve) => {
      const p = spawn("tmux", ["-S", driver.socketPath, "show-environment", "-g"], { stdio: ["ignore", "pipe", "ignore"] });
      let out = "";
      p.stdout.on("data", (d: Buffer) => (out += d.toString()));
      p.on("close", () => resolve(out));
    });
    expect(showGlobal).toContain("PATH=");
    expect(showEnv + showGlobal).not.toContain(secret);
  });

  it("never starts the command when the nonce was already used: the pane exits 97 with a value-free message", async () => {
    const s = name();
    const secret = `sk-${randomUUID()}`;
    const outDir = mkdtempSync(join(tmpdir(), "cp-tmux-out-"));
    let stolen: { code: number; stdout: string; stderr: string } | null = null;
    // Redeems the nonce itself before tmux even runs, as an attacker who learnt it from ps would.
    const thief = new TmuxDriver(join(dir, "thief.sock"), {
      exec: async (file, args, env) => {
        if (args.includes("new-session")) {
          const t = ticketIn(args);
          stolen = await fetchEnv(t, t.nonce);
        }
        return realExec(file, args, env);
      },
    });
    try {
      await thief.newSession({ name: s, cwd: outDir, command: ["sh", "-c", "touch ran; exec cat"], env: { CP_SECRET: secret }, cols: 120, rows: 10 });
      expect(stolen).toMatchObject({ code: 0, stdout: envFileContents({ CP_SECRET: secret }) });
      const info = await waitFor(async () => {
        const i = await thief.paneInfo(s);
        return i.dead && i.exitStatus !== null ? i : null;
      }, "pane dead with a status");
      expect(info.exitStatus).toBe(97);
      // tmux 3.3a scrolls a quickly dead pane's output into history when it prints "Pane is dead".
      const screen = await thief.capture(s, { scrollback: 100 });
      expect(screen).toContain("codepiper: cannot get the session environment (unknown, used or expired nonce); the command was not started");
      expect(screen).not.toContain(secret);
      expect(existsSync(join(outDir, "ran"))).toBe(false);
    } finally {
      await thief.killServer();
      await thief.close();
      rmSync(outDir, { recursive: true, force: true });
    }
  });

  it("resizes the window", async () => {
    const s = name();
    await driver.newSession({ name: s, cwd: dir, command: ["cat"], env: {}, cols: 80, rows: 24 });
    await driver.resize(s, 132, 40);
    expect(await driver.paneInfo(s)).toMatchObject({ cols: 132, rows: 40 });
  });

  it("keeps two sockets apart and lists only codepiper sessions", async () => {
    const mine = name();
    const theirs = name();
    await driver.newSession({ name: mine, cwd: dir, command: ["cat"], env: {}, cols: 80, rows: 24 });
    await other.newSession({ name: theirs, cwd: dir, command: ["cat"], env: {}, cols: 80, rows: 24 });
    const ours = await driver.listSessions();
    const others = await other.listSessions();
    expect(ours).toContain(mine);
    expect(ours).not.toContain(theirs);
    expect(others).toEqual([theirs]);
    expect(await other.hasSession(mine)).toBe(false);
    await expect(other.paneInfo(mine)).rejects.toMatchObject({ code: "CODEPIPER_NOT_FOUND" });
  });

  it("treats a socket with no server as empty", async () => {
    const none = new TmuxDriver(join(dir, "none.sock"));
    expect(await none.listSessions()).toEqual([]);
    expect(await none.hasSession(name())).toBe(false);
    await none.killServer();
  });
});

describe("TmuxDriver with a fake exec", () => {
  it("nudges its own server with SIGCHLD when a dead pane has no status yet", async () => {
    const replies = ["4242\t%3\t77\t1\t\t80\t24\t0\t0\t0\t0\n", "4242\t%3\t77\t1\t3\t80\t24\t0\t0\t0\t0\n"];
    const signals: [number, string][] = [];
    const fake = new TmuxDriver("/state/tmux.sock", {
      exec: () => Promise.resolve({ stdout: replies.shift() ?? "", stderr: "", code: 0 }),
      signal: (pid, sig) => signals.push([pid, sig]),
    });
    expect(await fake.paneInfo(name())).toMatchObject({ paneId: "%3", pid: 77, dead: true, exitStatus: 3 });
    expect(signals).toEqual([[4242, "SIGCHLD"]]);
  });

  it("binds every call to its socket, validates names, and chunks long text", async () => {
    const calls: string[][] = [];
    const fake = new TmuxDriver("/state/tmux.sock", {
      exec: (_file, args): Promise<ExecResult> => {
        calls.push(args);
        return Promise.resolve({ stdout: "", stderr: "", code: 0 });
      },
    });
    const s = name();
    await fake.sendText(s, "x".repeat(20_000), { enter: true });
    expect(calls.length).toBe(4);
    for (const c of calls) expect(c.slice(0, 2)).toEqual(["-S", "/state/tmux.sock"]);
    expect(calls.slice(0, 3).map((c) => c[c.length - 1]?.length)).toEqual([8192, 8192, 3616]);
    expect(calls[3]?.slice(-1)).toEqual(["Enter"]);
    await expect(fake.kill("default")).rejects.toMatchObject({ code: "CODEPIPER_BAD_INPUT" });
    await expect(fake.newSession({ name: s, cwd: "rel", command: ["x"], env: {}, cols: 80, rows: 24 })).rejects.toMatchObject({ code: "CODEPIPER_BAD_INPUT" });
    await expect(fake.resize(s, 0, 24)).rejects.toMatchObject({ code: "CODEPIPER_BAD_INPUT" });
    // Invalid specs are refused before tmux (or the env socket) is touched.
    expect(calls.length).toBe(4);
    expect(fake.envSocket.pendingCount).toBe(0);
  });
});

describe("TmuxDriver env delivery (envsocket.ts)", () => {
  /** A driver whose tmux is fake: records every argv, so tests can play the pane themselves. */
  function recording(sock: string, opts: { envTtlMs?: number; runtimeDir?: string; code?: number } = {}) {
    const calls: string[][] = [];
    const d = new TmuxDriver(sock, {
      exec: (_file, args): Promise<ExecResult> => {
        calls.push(args);
        return Promise.resolve({ stdout: "", stderr: opts.code ? "boom" : "", code: opts.code ?? 0 });
      },
      ...(opts.envTtlMs ? { envTtlMs: opts.envTtlMs } : {}),
      ...(opts.runtimeDir ? { runtimeDir: opts.runtimeDir } : {}),
    });
    return { d, calls };
  }

  it("puts only paths and a nonce in argv; the nonce yields the env exactly once", async () => {
    const { d, calls } = recording(join(dir, "once.sock"));
    try {
      const env = { API_KEY: "sk-very-secret", MULTI: "a'b\n$c" };
      await d.newSession({ name: name(), cwd: dir, command: ["claude", "--x;"], env, cols: 80, rows: 24 });
      expect(calls.length).toBe(1);
      const argv = calls[0] ?? [];
      expect(JSON.stringify(calls)).not.toContain("sk-very-secret");
      expect(argv).toContain("--x\\;");
      const t = ticketIn(argv);
      expect(t.nonce).toMatch(/^[0-9a-f]{32}$/);
      expect(t.node).toBe(process.execPath);
      expect(t.socket).toBe(join(dir, "once-env.sock"));
      expect(d.envSocket.pendingCount).toBe(1);
      const first = await fetchEnv(t, t.nonce);
      expect(first).toEqual({ code: 0, stdout: envFileContents(env), stderr: "" });
      expect(d.envSocket.pendingCount).toBe(0);
      const second = await fetchEnv(t, t.nonce);
      expect(second.code).toBe(97);
      expect(second.stdout).toBe("");
      expect(second.stderr).toContain("unknown, used or expired nonce");
      expect(second.stderr).not.toContain("sk-very-secret");
    } finally {
      await d.close();
    }
  });

  it("the wrapper itself refuses to run the command with an unknown nonce", async () => {
    const { d, calls } = recording(join(dir, "wrap.sock"));
    const outDir = mkdtempSync(join(tmpdir(), "cp-tmux-out-"));
    try {
      await d.newSession({ name: name(), cwd: outDir, command: ["sh", "-c", 'printf %s "$K" > got; touch ran'], env: { K: "v'1" }, cols: 80, rows: 24 });
      const t = ticketIn(calls[0] ?? []);
      // Asynchronously: the env socket is served by this very process, so spawnSync would starve it.
      const run = (argv: string[]) =>
        new Promise<{ status: number | null; stderr: string }>((resolve) => {
          execFile(argv[0] ?? "", argv.slice(1), { cwd: outDir, encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } }, (err, _stdout, stderr) =>
            resolve({ status: err ? (typeof err.code === "number" ? err.code : -1) : 0, stderr }),
          );
        });
      // A made-up nonce of the right shape: refused, and the command does not run.
      const bogus = t.wrapperArgv.map((a) => (a === t.nonce ? "0".repeat(32) : a));
      const refused = await run(bogus);
      expect(refused.status).toBe(97);
      expect(refused.stderr).toContain("unknown, used or expired nonce");
      expect(existsSync(join(outDir, "ran"))).toBe(false);
      // The real nonce: the command runs with its value (this is exactly the pane's argv).
      const ok = await run(t.wrapperArgv);
      expect(ok.status).toBe(0);
      expect(readFileSync(join(outDir, "got"), "utf8")).toBe("v'1");
      expect(existsSync(join(outDir, "ran"))).toBe(true);
      // Replayed: refused again, and the command's marker is not re-created.
      rmSync(join(outDir, "ran"));
      expect((await run(t.wrapperArgv)).status).toBe(97);
      expect(existsSync(join(outDir, "ran"))).toBe(false);
      // No agent listening at all (it died): still no command.
      await d.close();
      const gone = await run(t.wrapperArgv);
      expect(gone.status).toBe(97);
      expect(gone.stderr).toContain("no env socket");
      expect(existsSync(join(outDir, "ran"))).toBe(false);
    } finally {
      await d.close();
      rmSync(outDir, { recursive: true, force: true });
    }
  });

  it("forgets an environment on expiry, on a failed new-session and on close", async () => {
    const expiring = recording(join(dir, "ttl.sock"), { envTtlMs: 50 });
    const failing = recording(join(dir, "fail.sock"), { code: 1 });
    try {
      await expiring.d.newSession({ name: name(), cwd: dir, command: ["x"], env: { K: "v" }, cols: 80, rows: 24 });
      const t = ticketIn(expiring.calls[0] ?? []);
      await waitFor(() => expiring.d.envSocket.pendingCount === 0, "nonce expired");
      expect((await fetchEnv(t, t.nonce)).code).toBe(97);

      await expect(failing.d.newSession({ name: name(), cwd: dir, command: ["x"], env: { K: "v" }, cols: 80, rows: 24 })).rejects.toMatchObject({ code: "CODEPIPER_INTERNAL" });
      expect(failing.d.envSocket.pendingCount).toBe(0);
      const f = ticketIn(failing.calls[0] ?? []);
      expect((await fetchEnv(f, f.nonce)).code).toBe(97);

      await expiring.d.newSession({ name: name(), cwd: dir, command: ["x"], env: { K: "v" }, cols: 80, rows: 24 });
      expect(expiring.d.envSocket.pendingCount).toBe(1);
      await expiring.d.close();
      expect(expiring.d.envSocket.pendingCount).toBe(0);
      expect(existsSync(expiring.d.envSocket.socketPath)).toBe(false);
      expect(existsSync(expiring.d.envSocket.clientPath)).toBe(true);
      await expect(expiring.d.newSession({ name: name(), cwd: dir, command: ["x"], env: {}, cols: 80, rows: 24 })).rejects.toThrow(/closed/);
    } finally {
      await expiring.d.close();
      await failing.d.close();
    }
  });

  it("bounds and validates requests and environment sizes", async () => {
    const { d, calls } = recording(join(dir, "bounds.sock"));
    try {
      await expect(d.newSession({ name: name(), cwd: dir, command: ["x"], env: { BIG: "x".repeat(MAX_ENV_BYTES) }, cols: 80, rows: 24 })).rejects.toMatchObject({ code: "CODEPIPER_BAD_INPUT" });
      await expect(d.newSession({ name: name(), cwd: dir, command: ["x"], env: { "BAD-NAME": "v" }, cols: 80, rows: 24 })).rejects.toMatchObject({ code: "CODEPIPER_BAD_INPUT" });
      expect(calls).toEqual([]);
      await d.newSession({ name: name(), cwd: dir, command: ["x"], env: { K: "v" }, cols: 80, rows: 24 });
      const t = ticketIn(calls[0] ?? []);
      const sock = d.envSocket.socketPath;
      expect(await rawRequest(sock, "x".repeat(300))).toBe('{"ok":false,"error":"request too large"}\n');
      expect(await rawRequest(sock, "not json\n")).toBe('{"ok":false,"error":"malformed request"}\n');
      expect(await rawRequest(sock, `${JSON.stringify({ nonce: t.nonce, extra: 1 })}\n`)).toBe('{"ok":false,"error":"malformed request"}\n');
      expect(await rawRequest(sock, `${JSON.stringify({ nonce: t.nonce.toUpperCase() })}\n`)).toBe('{"ok":false,"error":"malformed request"}\n');
      // None of the bad requests consumed the nonce; a well-formed one does.
      expect(d.envSocket.pendingCount).toBe(1);
      expect(await rawRequest(sock, `${JSON.stringify({ nonce: t.nonce })}\n`)).toBe(`${JSON.stringify({ ok: true, env: "export K='v'\n" })}\n`);
      expect(d.envSocket.pendingCount).toBe(0);
    } finally {
      await d.close();
    }
  });

  it("refuses a runtime dir that someone else could write to", async () => {
    const shared = join(dir, "shared");
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    const { d, calls } = recording(join(shared, "tmux.sock"));
    try {
      await expect(d.newSession({ name: name(), cwd: dir, command: ["x"], env: { K: "v" }, cols: 80, rows: 24 })).rejects.toThrow(/writable by no one else/);
      expect(calls).toEqual([]);
      expect(readdirSync(shared)).toEqual([]);
    } finally {
      await d.close();
    }
  });
});

