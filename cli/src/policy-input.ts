import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { extname } from "node:path";
import { z } from "zod";
import { AppError } from "@codepiper/core";
import { parseDuration } from "./parse.js";

/**
 * Pure checks of what a user typed for `policy`, `policy-set`, `approvals` and `audit`, done before
 * anything leaves the machine. The control plane validates again (globs, rule fields, names) and
 * its messages name the rule and field; these exist so a typo fails fast and names the flag.
 *
 * The limits mirror POLICY_LIMITS (core/src/policy/types.ts); they are repeated here, not imported,
 * so these checks do not depend on the policy engine's module being built.
 */
export const CLI_POLICY_LIMITS = {
  rulesPerPolicy: 1000,
  rulesBytes: 256 * 1024,
  nameMax: 100,
  descriptionMax: 2000,
  reasonChars: 500,
  argKeyChars: 200,
  priorityAbs: 1_000_000,
} as const;

export const APPROVAL_STATUS_CHOICES = ["pending", "allowed", "denied", "expired", "withdrawn", "all"] as const;
export type ApprovalStatusChoice = (typeof APPROVAL_STATUS_CHOICES)[number];

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function bad(message: string): AppError {
  return new AppError("CODEPIPER_BAD_INPUT", message);
}

function quote(value: string, max = 60): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}

/** A policy or policy-set name: what the server accepts (letters, digits, '.', '_', '-'). */
export function parsePolicyName(name: string, flag = "--name"): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > CLI_POLICY_LIMITS.nameMax || !NAME.test(trimmed)) {
    throw bad(`${flag} ${quote(name)}: use 1–${CLI_POLICY_LIMITS.nameMax} letters, digits, '.', '_' and '-', starting with a letter or digit`);
  }
  return trimmed;
}

/** A reference to an existing policy or set (name or id). */
export function parseRef(ref: string, what: string): string {
  const trimmed = ref.trim();
  if (trimmed.length === 0 || trimmed.length > 100) throw bad(`${what} ${quote(ref)}: expected a name or id (1–100 characters)`);
  return trimmed;
}

export function parseDescription(text: string): string {
  if (text.length > CLI_POLICY_LIMITS.descriptionMax) throw bad(`--description is ${text.length} characters: at most ${CLI_POLICY_LIMITS.descriptionMax}`);
  return text;
}

export function parsePriority(value: string): number {
  const n = Number(value);
  if (!/^[+-]?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || Math.abs(n) > CLI_POLICY_LIMITS.priorityAbs) {
    throw bad(`--priority ${quote(value)}: expected a whole number from -${CLI_POLICY_LIMITS.priorityAbs} to ${CLI_POLICY_LIMITS.priorityAbs} (higher is evaluated first)`);
  }
  return n;
}

export type ScopeInput = "global" | "set" | { session: string };

/** `--scope global|set|session:<id>` (a session id, unique id prefix or name). */
export function parseScope(value: string): ScopeInput {
  const v = value.trim();
  if (v === "global" || v === "set") return v;
  if (v.startsWith("session:")) {
    const session = v.slice("session:".length).trim();
    if (session.length === 0 || session.length > 100) throw bad(`--scope ${quote(value)}: give the session after 'session:' (id, unique id prefix or name), e.g. --scope session:3f2a9c1e`);
    return { session };
  }
  throw bad(`--scope ${quote(value)}: expected global (every session), set (sessions with a policy set containing this policy) or session:<id>`);
}

/** 1-based line and column of a 0-based character offset. */
export function lineColumn(text: string, position: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(position, text.length)));
  const lines = before.split("\n");
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}

/**
 * Offset of the first syntax error in `text` (text.length: it ends too early), or null if it is
 * valid JSON. V8's own messages give a position only for some errors ("Unexpected token 'o',
 * \"[oops\" is not valid JSON" has none), so the position comes from this small scanner.
 */
export function jsonErrorOffset(text: string): number | null {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const string = () => {
    i++;
    for (;;) {
      if (i >= text.length) fail();
      const ch = text[i]!;
      if (ch === '"') return void i++;
      if (ch.charCodeAt(0) < 0x20) fail();
      if (ch === "\\") {
        i++;
        const e = text[i];
        if (e === "u") {
          for (let k = 1; k <= 4; k++) {
            if (!/[0-9a-fA-F]/.test(text[i + k] ?? "")) {
              i += k;
              fail();
            }
          }
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else fail();
      } else i++;
    }
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === "{") {
      i++;
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ":") fail();
        i++;
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") return void i++;
        else fail();
      }
    } else if (ch === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") return void i++;
        else fail();
      }
    } else if (ch === '"') string();
    else if (ch === "t") literal("true");
    else if (ch === "f") literal("false");
    else if (ch === "n") literal("null");
    else if (ch === "-" || (ch !== undefined && ch >= "0" && ch <= "9")) number();
    else fail();
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return null;
  } catch (at) {
    if (typeof at === "number") return Math.min(at, text.length);
    throw at;
  }
}

/** JSON.parse with an error that says where: `line 3, column 14 (offset 37)`. */
export function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const offset = jsonErrorOffset(text) ?? Number(/at position (\d+)/.exec(message)?.[1] ?? text.length);
    const { line, column } = lineColumn(text, offset);
    const where = offset >= text.length ? `the end (line ${line}, column ${column}): it ends too early` : `line ${line}, column ${column} (offset ${offset})`;
    // V8's reason, without its own position or its quote of the (possibly huge) input.
    const reason = message.replace(/\s*(in JSON )?at position \d+.*$/s, "").replace(/, ".*" is not valid JSON$/s, "").replace(/^JSON\.parse: /, "");
    throw bad(`${what} is not valid JSON at ${where}: ${reason}`);
  }
}

export interface FileReader {
  (path: string): Buffer;
}

/**
 * `--rules '<json array>'`, `--rules @rules.json` or `--rules @rules.yaml` (`.yml`): a local file,
 * YAML parsed with the `yaml` package (strict: duplicate keys and anything that is not plain data
 * are errors, with line and column).
 * Checks: size (≤ 256 KiB), valid JSON (error with line and column), a non-empty array of at most
 * 1000 objects. Glob syntax and rule fields are checked by the server.
 */
export function parseRulesFlag(value: string, read: FileReader = (p) => readFileSync(p)): unknown[] {
  let text: string;
  let what = "--rules";
  if (value.startsWith("@")) {
    const path = value.slice(1);
    if (path.length === 0) throw bad("--rules @: give a file after @, e.g. --rules @rules.json");
    const ext = extname(path).toLowerCase();
    let buf: Buffer;
    try {
      buf = read(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new AppError(code === "ENOENT" ? "CODEPIPER_NOT_FOUND" : "CODEPIPER_BAD_INPUT", `--rules: cannot read ${path}: ${code === "ENOENT" ? "no such file" : err instanceof Error ? err.message : String(err)}`);
    }
    if (buf.length > CLI_POLICY_LIMITS.rulesBytes) throw new AppError("CODEPIPER_PAYLOAD_TOO_LARGE", `--rules ${path} is ${buf.length} bytes: rules are limited to ${CLI_POLICY_LIMITS.rulesBytes} bytes (256 KiB) per policy`);
    text = buf.toString("utf8").replace(/^\uFEFF/, "");
    what = `--rules ${path}`;
    if (ext === ".yaml" || ext === ".yml") return checkRulesArray(parseYamlText(text, what), what);
  } else {
    text = value;
    const bytes = Buffer.byteLength(text);
    if (bytes > CLI_POLICY_LIMITS.rulesBytes) throw new AppError("CODEPIPER_PAYLOAD_TOO_LARGE", `--rules is ${bytes} bytes: rules are limited to ${CLI_POLICY_LIMITS.rulesBytes} bytes (256 KiB) per policy; put them in a file with --rules @rules.json if the shell is the problem`);
  }
  if (text.trim().length === 0) throw bad(`${what} is empty: expected a JSON array of rules, e.g. '[{"action":"deny","tool":"Bash","args":{"command":"rm -rf *"}}]'`);
  return checkRulesArray(parseJsonText(text, what), what);
}

function parseYamlText(text: string, what: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true });
  const first = doc.errors[0] ?? doc.warnings[0];
  if (first) {
    const at = first.linePos?.[0];
    throw bad(`${what} is not valid YAML${at ? ` at line ${at.line}, column ${at.col}` : ""}: ${(first.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "")}`);
  }
  return doc.toJS({ maxAliasCount: 0 }) as unknown;
}

function checkRulesArray(parsed: unknown, what: string): unknown[] {
  if (!Array.isArray(parsed)) throw bad(`${what}: expected a JSON array of rules, got ${parsed === null ? "null" : typeof parsed} (wrap a single rule in [ ])`);
  if (parsed.length === 0) throw bad(`${what}: the array is empty; a policy needs at least one rule`);
  if (parsed.length > CLI_POLICY_LIMITS.rulesPerPolicy) throw bad(`${what}: ${parsed.length} rules, at most ${CLI_POLICY_LIMITS.rulesPerPolicy} per policy`);
  const notObject = parsed.findIndex((r) => typeof r !== "object" || r === null || Array.isArray(r));
  if (notObject >= 0) throw bad(`${what}: rule ${notObject} is not an object (expected e.g. {"action":"allow","tool":"Read"})`);
  return parsed;
}

/**
 * `policy test --arg k=v` (the value is a string, split at the first '=' so values may contain
 * '=') and `--arg-json k=<json>` (the value is parsed as JSON: numbers, booleans, objects — the
 * engine matches non-string values against their JSON text). A key given twice is an error.
 */
export function parseToolArgs(args: readonly string[], jsonArgs: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const take = (flag: string, raw: string): [string, string] => {
    const eq = raw.indexOf("=");
    if (eq < 0) throw bad(`${flag} ${quote(raw)}: expected key=value, e.g. ${flag} command='rm -rf /'`);
    const key = raw.slice(0, eq);
    if (key.length === 0) throw bad(`${flag} ${quote(raw)}: the key before '=' is empty`);
    if (key.length > CLI_POLICY_LIMITS.argKeyChars) throw bad(`${flag}: key ${quote(key)} is over ${CLI_POLICY_LIMITS.argKeyChars} characters`);
    if (Object.hasOwn(out, key)) throw bad(`${flag} ${quote(key)}: argument ${quote(key)} is given twice`);
    return [key, raw.slice(eq + 1)];
  };
  for (const raw of args) {
    const [key, value] = take("--arg", raw);
    out[key] = value;
  }
  for (const raw of jsonArgs) {
    const [key, value] = take("--arg-json", raw);
    out[key] = parseJsonText(value, `--arg-json ${key}`);
  }
  return out;
}

export function parseTool(tool: string): string {
  if (tool.length === 0 || tool.length > 200) throw bad(`--tool ${quote(tool)}: expected a tool name (1–200 characters), e.g. Bash, Edit, Write, mcp__github__create_issue`);
  return tool;
}

export function parseReason(reason: string | undefined): string | undefined {
  if (reason === undefined) return undefined;
  if (reason.length > CLI_POLICY_LIMITS.reasonChars) throw bad(`--reason is ${reason.length} characters: at most ${CLI_POLICY_LIMITS.reasonChars}`);
  return reason;
}

const isoTime = z.string().datetime({ offset: true });

/** `--since`: an ISO 8601 time with zone (2026-11-24T17:00:00Z) or a duration back from `now` (2h, 7d). */
export function parseSinceTime(value: string, now = Date.now()): string {
  const v = value.trim();
  if (isoTime.safeParse(v).success) return v;
  if (/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(v)) return new Date(now - parseDuration(v, "--since")).toISOString();
  throw bad(`--since ${quote(value)}: expected an ISO time with a zone (e.g. 2026-11-24T17:00:00Z) or a duration back from now (e.g. 2h, 7d)`);
}

/** One line, at most `max` characters: `command="rm -rf /"`, `file_path="/etc/passwd" content=…`. */
export function argsSummary(args: unknown, max = 60): string {
  let text: string;
  if (typeof args === "string") text = args;
  else if (args && typeof args === "object" && !Array.isArray(args)) {
    text = Object.entries(args as Record<string, unknown>)
      .map(([k, v]) => `${k}=${JSON.stringify(v) ?? String(v)}`)
      .join(" ");
  } else text = JSON.stringify(args) ?? "";
  text = text.replace(/[\r\n\t]+/g, " ");
  if (text.length === 0) return "-";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `policy-name[rule]`, or `default` when no rule decided. */
export function ruleLabel(policyName: string | null, ruleIndex: number | null): string {
  if (!policyName) return "default";
  return ruleIndex === null ? policyName : `${policyName}[${ruleIndex}]`;
}

/** One rule in one line for human output: `deny tool=Bash command="rm -rf *" — reason`. */
export function ruleSummary(rule: unknown): string {
  if (!rule || typeof rule !== "object") return JSON.stringify(rule) ?? "-";
  const r = rule as { action?: unknown; tool?: unknown; args?: Record<string, unknown>; cwd?: unknown; reason?: unknown };
  const parts = [String(r.action ?? "?")];
  const fmt = (v: unknown) => (Array.isArray(v) ? `[${v.map((x) => JSON.stringify(x)).join(",")}]` : JSON.stringify(v));
  if (r.tool !== undefined) parts.push(`tool=${fmt(r.tool)}`);
  for (const [k, v] of Object.entries(r.args ?? {})) parts.push(`${k}=${fmt(v)}`);
  if (r.cwd !== undefined) parts.push(`cwd=${fmt(r.cwd)}`);
  if (!r.tool && !r.args && !r.cwd) parts.push("(everything)");
  return `${parts.join(" ")}${typeof r.reason === "string" && r.reason ? ` — ${r.reason}` : ""}`;
}
