/**
 * The REAL Claude Code (2.1.197) and Codex CLI (0.169.0) in real tmux (private socket per test),
 * talking to our fake model server (support/fake-model.ts) with an isolated HOME/CODEX_HOME
 * (support/provider-env.ts).
 *
 * Observations (this machine, vs. /work/shared/reference/README.md):
 * What the reference notes say and was confirmed here:
 *  - Claude Code needs only ANTHROPIC_BASE_URL + ANTHROPIC_API_KEY + a pre-seeded $HOME/.claude.json
 *    (onboarding done, last 20 chars of the key approved, cwd trusted) to start straight into the TUI.
 *  - HTTP hooks (type "http") for PreToolUse, PermissionRequest and Stop are POSTed; the header
 *    "Authorization: Bearer $CODEPIPER_HOOK_TOKEN" with allowedEnvVars is resolved (asserted below).
 *    SessionStart was registered as a command hook (reference: an HTTP SessionStart is not called).
 *  - PermissionRequest answer {"hookSpecificOutput":{"hookEventName":"PermissionRequest","decision":
 *    {"behavior":"deny","message":…}}} blocks the command; behavior "allow" runs it with no dialog.
 *  - Codex: `codex login --with-api-key` (stdin) + config.toml custom provider (wire_api="responses")
 *    + trusted project + --no-daemon works; no app-server process is left behind after kill-server.
 *
 * Observed in addition to / differently from the reference (claude 2.1.197, codex 0.169.0):
 *  - Claude Code's FIRST user message carries a leading text block "<system-reminder>…currentDate…
 *    </system-reminder>" before the prompt text. "Last role:user message" alone is not enough to
 *    find the user's words: the fake strips <system-reminder> blocks (otherwise the echo starts with
 *    the reminder, which is what we saw in the pane at first).
 *  - Requests seen from Claude Code per prompt: HEAD / once at start (connectivity probe; the fake
 *    answers 200), then per prompt a title-generation POST /v1/messages (model
 *    claude-haiku-4-5-20251001, NO tools, user text "<session>\n<prompt>\n</session>\n\nWrite the title
 *    …") followed by the real turn (model claude-opus-4-8, 27 tools, stream:true). No count_tokens,
 *    no /v1/models calls were observed. The TUI banner says "Opus 4.8 (1M context) · API Usage
 *    Billing"; the SessionStart payload has "model":"claude-opus-4-8[1m]" and "source":"startup".
 *  - The transcript is <HOME>/.claude/projects/<cwd with every non-alphanumeric char → "-">/<session
 *    id>.jsonl, and it is NOT complete when the Stop hook is POSTed: the assistant line can land after
 *    Stop, and on the first turn the file sometimes does not exist yet at all when Stop arrives
 *    (2 of ~30 runs under load), so a reader must wait for the file and keep tailing. Its assistant entries carry the fake's message id and the
 *    usage the fake reported (input_tokens from message_start, output_tokens from message_delta).
 *    It also records hook results as "attachment" lines (hook_success with the HTTP stdout, and
 *    hook_permission_decision with decision allow|deny).
 *  - On deny, the pane shows "Error: <our message>" and "Denied by PermissionRequest hook"; the
 *    denial goes back to the model as a tool_result (is_error) whose content is our message, the
 *    model gets one more turn, and only then is Stop POSTed. On allow the pane shows "Allowed by
 *    PermissionRequest hook". A whole tool turn with both HTTP hooks takes ~200 ms here.
 *  - Codex's TUI draws a splash animation first; keystrokes sent before the composer placeholder
 *    "Ask Codex to do anything" appears were shown but the Enter was lost. Wait for that text.
 *    A non-blocking startup warning is shown ("Codex could not find bubblewrap on PATH … will use the
 *    bundled bubblewrap", "⚠ 1 warning · f2 to view").
 *  - Codex 0.169.0 offers no "shell" tool: the function tools are exec_command (arguments {"cmd":…}),
 *    write_stdin, list_mcp_resources, …, web_search. A function_call to exec_command in a trusted
 *    project runs without an approval prompt; its function_call_output is text like "Chunk ID: …\n
 *    Wall time: …\nProcess exited with code 0\nOriginal token count: 0\nOutput:\n…".
 *  - Codex also sends a separate title-generation POST /v1/responses (no tools; "Generate a concise,
 *    single-line task title … User prompt:\n<prompt>").
 *  - Rollout: $CODEX_HOME/sessions/YYYY/MM/DD/rollout-<local ts>-<thread uuid>.jsonl; each turn has an
 *    event_msg payload {type:"token_count", info:{last_token_usage:{input_tokens, output_tokens, …},
 *    total_token_usage:{…}}} with exactly the usage the fake reported.
 *  - Flakiness: in one early run (before waiting for Claude's idle marker "? for shortcuts" before
 *    typing) Claude Code showed the typed prompt but ignored the Enter sent right after the previous
 *    turn ended. prompt() now waits for the idle marker and, if the fake server has not received the
 *    prompt within 4 s, presses Enter once more (counted; a warning is printed when it happens).
 *    Under 3 parallel runs of this file the second Enter was needed 3 times in 30 runs (Claude only;
 *    Codex never), and 0 times in 37 sequential runs. The agent's own `send` will need the same care.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import { randomUUID } from "node:crypto";
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { tempDir, waitFor } from "../support/index.js";
import { startFakeModel, type FakeModel } from "../support/fake-model.js";
import { prepareClaudeEnv, prepareCodexEnv, providerBinariesInstalled, type ClaudeEnv, type CodexEnv } from "../support/provider-env.js";

const bins = providerBinariesInstalled();

/** A tmux server on a private socket, running one session. */
class TmuxSession {
  readonly sock: string;
  readonly name = "cp-test";
  constructor(dir: string, private readonly env: Record<string, string>) {
    this.sock = join(dir, "tmux.sock");
  }

  tmux(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile("tmux", ["-S", this.sock, ...args], { env: this.env, timeout: 10_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`tmux ${args.join(" ")}: ${err.message} ${stderr}`));
        else resolve(stdout);
      });
    });
  }

  async start(cwd: string, argv: string[]): Promise<void> {
    await this.tmux(["-f", "/dev/null", "new-session", "-d", "-s", this.name, "-x", "200", "-y", "50", "-c", cwd, "--", ...argv]);
    await this.tmux(["set-option", "-t", this.name, "remain-on-exit", "on"]);
  }

  capture(): Promise<string> {
    return this.tmux(["capture-pane", "-p", "-J", "-S", "-200", "-t", this.name]);
  }

  async sendLiteral(text: string): Promise<void> {
    await this.tmux(["send-keys", "-t", this.name, "-l", text]);
  }

  async sendKeys(...keys: string[]): Promise<void> {
    await this.tmux(["send-keys", "-t", this.name, ...keys]);
  }

  /** How often Enter had to be pressed again because the first one was lost (see the notes at the top). */
  enterRetries = 0;

  /**
   * Waits for the TUI's idle marker, types the prompt, waits until the pane shows it, presses Enter,
   * and waits until `submitted()` (e.g. the fake server got the prompt). If the Enter was swallowed,
   * presses it once more (counted in enterRetries).
   */
  async prompt(text: string, opts: { idle: string; submitted: () => boolean }): Promise<void> {
    await this.waitForText(opts.idle, "TUI idle before typing");
    await this.sendLiteral(text);
    const probe = text.slice(0, 40);
    await waitFor(async () => (await this.capture()).includes(probe), { what: `prompt "${probe}" echoed in the pane`, timeoutMs: 15_000 });
    await this.sendKeys("Enter");
    try {
      await waitFor(opts.submitted, { what: "prompt submitted", timeoutMs: 4_000 });
    } catch {
      this.enterRetries++;
      await this.sendKeys("Enter");
      await waitFor(opts.submitted, { what: `prompt "${probe}" submitted (after a second Enter)`, timeoutMs: 15_000 });
    }
  }

  /** Polls the pane until it contains `needle`; returns the pane. */
  waitForText(needle: string, what: string, timeoutMs = 30_000): Promise<string> {
    return waitFor(async () => {
      const p = await this.capture();
      return p.includes(needle) ? p : undefined;
    }, { what: `${what} (pane contains ${JSON.stringify(needle)})`, timeoutMs });
  }

  async kill(): Promise<void> {
    await this.tmux(["kill-server"]).catch(() => undefined);
  }
}

interface HookCall {
  event: string;
  auth: string | undefined;
  body: Record<string, unknown>;
}

/** A tiny HTTP listener for Claude Code's HTTP hooks: records every POST, answers PermissionRequest per `decision`. */
async function startHookListener(): Promise<{ url: string; calls: HookCall[]; decision: { behavior: "allow" | "deny" | "none" }; close(): Promise<void> }> {
  const calls: HookCall[] = [];
  const decision: { behavior: "allow" | "deny" | "none" } = { behavior: "none" };
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      if (body.length < 1_000_000) body += c.toString();
    });
    req.on("end", () => {
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(body) as Record<string, unknown>;
      } catch {
        /* recorded as empty */
      }
      const event = (req.url ?? "/").replace(/^\/hooks\//, "");
      calls.push({ event, auth: req.headers.authorization, body: parsed });
      res.writeHead(200, { "content-type": "application/json" });
      if (event === "PermissionRequest" && decision.behavior !== "none") {
        const d = decision.behavior === "allow" ? { behavior: "allow" } : { behavior: "deny", message: "denied by the codepiper test" };
        res.end(JSON.stringify({ hookSpecificOutput: { hookEventName: "PermissionRequest", decision: d } }));
      } else res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    decision,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe.skipIf(!bins.claude)("real Claude Code in tmux against the fake model", () => {
  const HOOK_TOKEN = "hook-token-" + randomUUID();
  const sessionId = randomUUID();
  let fake: FakeModel;
  let hooks: Awaited<ReturnType<typeof startHookListener>>;
  let env: ClaudeEnv;
  let tmux: TmuxSession;
  let sessionStartLog: string;
  let dir: string;

  beforeAll(async () => {
    dir = tempDir("codepiper-claude-");
    fake = await startFakeModel();
    hooks = await startHookListener();
    env = prepareClaudeEnv({ baseUrl: fake.url, root: dir, extraEnv: { CODEPIPER_HOOK_TOKEN: HOOK_TOKEN } });
    sessionStartLog = join(dir, "session-start.log");
    const httpHook = (event: string): unknown => [
      { matcher: "*", hooks: [{ type: "http", url: `${hooks.url}/hooks/${event}`, timeout: 30, headers: { Authorization: "Bearer $CODEPIPER_HOOK_TOKEN" }, allowedEnvVars: ["CODEPIPER_HOOK_TOKEN"] }] },
    ];
    const overlay = join(dir, "overlay.json");
    writeFileSync(
      overlay,
      JSON.stringify({
        hooks: {
          SessionStart: [{ hooks: [{ type: "command", command: `cat >> '${sessionStartLog}'; echo >> '${sessionStartLog}'` }] }],
          PreToolUse: httpHook("PreToolUse"),
          PermissionRequest: httpHook("PermissionRequest"),
          Stop: [{ hooks: (httpHook("Stop") as { hooks: unknown[] }[])[0]!.hooks }],
        },
      }),
    );
    tmux = new TmuxSession(dir, env.env);
    await tmux.start(env.cwd, [env.bin, "--session-id", sessionId, "--settings", overlay]);
  });

  afterAll(async () => {
    if (tmux) {
      if (tmux.enterRetries) console.warn(`claude: Enter pressed twice ${tmux.enterRetries} time(s)`);
      const pane = await tmux.capture().catch(() => "");
      if (process.env.CODEPIPER_DEBUG_PANES) {
        appendFileSync(join(dir, "pane.txt"), pane);
        writeFileSync(join(dir, "requests.json"), JSON.stringify(fake.requests.map((r) => ({ ...r, body: undefined, headers: undefined, tools: (r.body as { tools?: unknown[] } | undefined)?.tools?.length })), null, 1));
      }
      await tmux.kill();
    }
    await hooks?.close();
    await fake?.close();
  });

  const claudePrompt = (needle: string) => ({ idle: "? for shortcuts", submitted: () => fake.requestsContaining(needle).length > 0 });
  const stopsFor = (): HookCall[] => hooks.calls.filter((c) => c.event === "Stop");

  it("answers a prompt: reply in the pane, prompt at the server, Stop hook POSTed, SessionStart ran", async () => {
    await waitFor(() => existsSync(sessionStartLog) && readFileSync(sessionStartLog, "utf8").includes(sessionId), { what: "SessionStart command hook", timeoutMs: 30_000 });
    const start = JSON.parse(readFileSync(sessionStartLog, "utf8").trim().split("\n")[0]!) as Record<string, unknown>;
    expect(start.session_id).toBe(sessionId);
    expect(start.hook_event_name).toBe("SessionStart");

    await tmux.prompt("hello fake model one", claudePrompt("hello fake model one"));
    const pane = await waitFor(async () => {
      const p = await tmux.capture();
      return p.includes("fake reply to: hello fake model one") ? p : undefined;
    }, { what: "fake reply in the pane", timeoutMs: 30_000 });
    expect(pane).toContain("fake reply to: hello fake model one");
    expect(fake.requestsContaining("hello fake model one").some((r) => r.api === "anthropic" && r.path === "/v1/messages")).toBe(true);

    const stop = await waitFor(() => stopsFor()[0], { what: "Stop HTTP hook", timeoutMs: 20_000 });
    expect(stop.auth).toBe(`Bearer ${HOOK_TOKEN}`);
    expect(stop.body.session_id).toBe(sessionId);
    expect(stop.body.hook_event_name).toBe("Stop");
    const transcript = stop.body.transcript_path as string;
    expect(typeof transcript).toBe("string");
    expect(transcript).toBe(join(env.projectDir, `${sessionId}.jsonl`));
    // On the first turn the transcript file may not even exist yet when Stop is POSTed (seen ~1 in 15 runs).
    await waitFor(() => existsSync(transcript), { what: "transcript file exists", timeoutMs: 10_000 });
    // The transcript is appended asynchronously: at Stop time it may not hold the reply yet.
    const assistant = await waitFor(() => readFileSync(transcript, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { type?: string; message?: { id?: string; content?: { text?: string }[]; usage?: { input_tokens?: number; output_tokens?: number } } })
      .find((e) => e.type === "assistant" && e.message?.content?.some((c) => c.text === "fake reply to: hello fake model one")), { what: "assistant reply in the transcript", timeoutMs: 10_000 });
    expect(readFileSync(transcript, "utf8")).toContain('"content":"hello fake model one"');
    // Usage and message id in the transcript are what the fake reported.
    const answered = fake.requestsContaining("hello fake model one").find((r) => r.answer?.id === assistant.message?.id);
    expect(answered).toBeDefined();
    expect(assistant.message?.usage?.input_tokens).toBe(answered!.answer!.inputTokens);
    expect(assistant.message?.usage?.output_tokens).toBe(answered!.answer!.outputTokens);
  });

  it("PermissionRequest HTTP hook answering deny: the command does not run", async () => {
    const target = join(env.cwd, "denied.txt");
    hooks.decision.behavior = "deny";
    const stopsBefore = stopsFor().length;
    await tmux.prompt(`RUNTOOL RUNCMD[touch ${target}]`, claudePrompt("denied.txt"));
    const perm = await waitFor(() => hooks.calls.find((c) => c.event === "PermissionRequest" && JSON.stringify(c.body).includes("denied.txt")), { what: "PermissionRequest for denied.txt", timeoutMs: 30_000 });
    expect(perm.auth).toBe(`Bearer ${HOOK_TOKEN}`);
    expect((perm.body.tool_input as { command?: string }).command).toBe(`touch ${target}`);
    expect(hooks.calls.some((c) => c.event === "PreToolUse" && JSON.stringify(c.body).includes("denied.txt"))).toBe(true);
    // The turn ends (Stop) after the denial; only then is "not created" meaningful.
    await waitFor(() => stopsFor().length > stopsBefore, { what: "Stop after the denied tool call", timeoutMs: 30_000 });
    await tmux.waitForText("Denied by PermissionRequest hook", "denial shown in the TUI", 10_000);
    expect(existsSync(target)).toBe(false);
    // Claude Code sent the denial back to the model as an error tool_result carrying our message.
    const toolTurn = fake.requests.find((r) => r.api === "anthropic" && r.isToolResult && JSON.stringify(r.body).includes("denied by the codepiper test"));
    expect(toolTurn).toBeDefined();
  });

  it("PermissionRequest HTTP hook answering allow: the command runs", async () => {
    const target = join(env.cwd, "allowed.txt");
    hooks.decision.behavior = "allow";
    const stopsBefore = stopsFor().length;
    await tmux.prompt(`RUNTOOL RUNCMD[touch ${target}]`, claudePrompt("allowed.txt"));
    await waitFor(() => existsSync(target), { what: "allowed.txt created", timeoutMs: 30_000 });
    expect(hooks.calls.some((c) => c.event === "PermissionRequest" && JSON.stringify(c.body).includes("allowed.txt"))).toBe(true);
    await waitFor(() => stopsFor().length > stopsBefore, { what: "Stop after the allowed tool call", timeoutMs: 30_000 });
    await tmux.waitForText("Allowed by PermissionRequest hook", "allow shown in the TUI", 10_000);
    // The tool result went back to the model, which answered with text.
    expect(fake.requests.some((r) => r.api === "anthropic" && r.isToolResult)).toBe(true);
  });
});

function findRollouts(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...findRollouts(p));
    else if (/^rollout-.*\.jsonl$/.test(e.name)) out.push(p);
  }
  return out;
}

describe.skipIf(!bins.codex)("real Codex CLI in tmux against the fake model", () => {
  let fake: FakeModel;
  let env: CodexEnv;
  let tmux: TmuxSession;
  let dir: string;

  beforeAll(async () => {
    dir = tempDir("codepiper-codex-");
    fake = await startFakeModel();
    env = await prepareCodexEnv({ baseUrl: fake.url, root: dir });
    tmux = new TmuxSession(dir, env.env);
    await tmux.start(env.cwd, [env.bin, "--no-daemon"]);
  });

  const codexPrompt = (needle: string) => ({ idle: "Ask Codex to do anything", submitted: () => fake.requestsContaining(needle).length > 0 });

  afterAll(async () => {
    if (tmux) {
      if (tmux.enterRetries) console.warn(`codex: Enter pressed twice ${tmux.enterRetries} time(s)`);
      if (process.env.CODEPIPER_DEBUG_PANES) appendFileSync(join(dir, "pane.txt"), await tmux.capture().catch(() => ""));
      await tmux.kill();
    }
    await fake?.close();
  });

  it("answers a prompt in the TUI and writes a rollout file under $CODEX_HOME/sessions", async () => {
    await tmux.prompt("hello codex fake", codexPrompt("hello codex fake"));
    await waitFor(async () => (await tmux.capture()).includes("fake reply to: hello codex fake"), { what: "codex fake reply in the pane", timeoutMs: 30_000 });
    expect(fake.requestsContaining("hello codex fake").some((r) => r.api === "responses")).toBe(true);
    const rollout = await waitFor(() => findRollouts(env.sessionsDir).find((f) => readFileSync(f, "utf8").includes("fake reply to: hello codex fake")), { what: "rollout with the reply", timeoutMs: 20_000 });
    expect(statSync(rollout).size).toBeGreaterThan(0);
    expect(rollout.startsWith(env.codexHome)).toBe(true);
    // Usage: the rollout's token_count carries exactly what the fake reported for that turn.
    const answers = fake.requestsContaining("hello codex fake").map((r) => r.answer).filter((a) => a !== undefined);
    const counted = await waitFor(() => readFileSync(rollout, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { payload?: { type?: string; info?: { last_token_usage?: { input_tokens: number; output_tokens: number } } | null } })
      .map((e) => e.payload?.type === "token_count" ? e.payload.info?.last_token_usage : undefined).find((u) => u && answers.some((a) => a.inputTokens === u.input_tokens && a.outputTokens === u.output_tokens)), { what: "token_count in the rollout matching the fake's usage", timeoutMs: 10_000 });
    expect(counted.output_tokens).toBeGreaterThan(0);
  });

  it("a RUNTOOL prompt becomes an exec_command tool call that Codex runs, then a text turn", async () => {
    const target = join(env.cwd, "codex-made.txt");
    await tmux.prompt(`RUNTOOL RUNCMD[touch ${target}]`, codexPrompt("codex-made.txt"));
    await waitFor(() => existsSync(target), { what: "codex-made.txt created", timeoutMs: 30_000 });
    await tmux.waitForText("fake tool done", "codex follow-up text turn");
    expect(fake.requests.some((r) => r.api === "responses" && r.isToolResult)).toBe(true);
  });
});
