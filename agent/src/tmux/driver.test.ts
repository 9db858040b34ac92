import { spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor as pollUntil } from "../../../tests/src/support/wait.js";
import { TmuxDriver, type ExecResult } from "./driver.js";

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

  it("gives the process its env without putting a secret in any argv or leaving the env file", async () => {
    const s = name();
    const secret = `sk-${randomUUID()}`;
    const snapshots: string[] = [];
    let starting = true;
    // Sample every process's argv for as long as the session is starting.
    const sampler = (async () => {
      while (starting) snapshots.push(await psArgs());
    })();
    try {
      await driver.newSession({ name: s, cwd: dir, command: ["sh", "-c", 'printf "%s|%s\\n" "$CP_SECRET" "$CP_PLAIN"; exec cat'], env: { CP_SECRET: secret, CP_PLAIN: "it's plain" }, cols: 200, rows: 10 });
      await waitFor(async () => (await driver.capture(s)).includes(`${secret}|it's plain`), "env printed");
    } finally {
      starting = false;
      await sampler;
    }
    expect(snapshots.length).toBeGreaterThan(0);
    for (const snap of snapshots) expect(snap).not.toContain(secret);
    expect(readdirSync(dir).filter((f) => f.startsWith(".env-"))).toEqual([]);
    // Nor is it in tmux's session or global environment, which anyone on the socket could list.
    const showEnv = await new Promise<string>((resolve) => {
      const p = spawn("tmux", ["-S", driver.socketPath, "show-environment", "-t", `=${s}`], { stdio: ["ignore", "pipe", "ignore"] });
      let out = "";
      p.stdout.on("data", (d: Buffer) => (out += d.toString()));
      p.on("close", () => resolve(out));
    });
    expect(showEnv).not.toContain(secret);
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
    // The structural guarantee behind the ps sampling above: no env value in any tmux argv, and
    // the file the wrapper reads is 0600 and exists only until the wrapper has opened it.
    calls.length = 0;
    let seenMode = -1;
    const secretDriver = new TmuxDriver(join(dir, "fake.sock"), {
      exec: (_file, args): Promise<ExecResult> => {
        calls.push(args);
        const envFile = args.find((a) => a.includes("/.env-"));
        if (envFile) seenMode = statSync(envFile).mode & 0o777;
        return Promise.resolve({ stdout: "", stderr: "", code: 0 });
      },
    });
    await secretDriver.newSession({ name: s, cwd: dir, command: ["claude", "--x;"], env: { API_KEY: "sk-very-secret" }, cols: 80, rows: 24 });
    expect(seenMode).toBe(0o600);
    expect(JSON.stringify(calls)).not.toContain("sk-very-secret");
    expect(calls[0]).toContain("--x\\;");
    // A failed new-session never leaves the file behind.
    const failing = new TmuxDriver(join(dir, "fake.sock"), { exec: () => Promise.resolve({ stdout: "", stderr: "boom", code: 1 }) });
    await expect(failing.newSession({ name: name(), cwd: dir, command: ["x"], env: { K: "v" }, cols: 80, rows: 24 })).rejects.toMatchObject({ code: "CODEPIPER_INTERNAL" });
    expect(readdirSync(dir).filter((f) => f.startsWith(".env-") && !f.startsWith(`.env-${s}`))).toEqual([]);
    await expect(fake.kill("default")).rejects.toMatchObject({ code: "CODEPIPER_BAD_INPUT" });
    await expect(fake.newSession({ name: s, cwd: "rel", command: ["x"], env: {}, cols: 80, rows: 24 })).rejects.toMatchObject({ code: "CODEPIPER_BAD_INPUT" });
    await expect(fake.resize(s, 0, 24)).rejects.toMatchObject({ code: "CODEPIPER_BAD_INPUT" });
  });
});
