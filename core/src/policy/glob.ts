import { POLICY_LIMITS } from "./types.js";

/**
 * The policy glob dialect (types.ts `globSchema`, DESIGN.md §4), compiled to a RegExp.
 *
 * - `*` any run of characters, including `/`, spaces and newlines; consecutive `*` collapse.
 * - `?` exactly one character; a character is a Unicode code point (`?` matches one emoji).
 * - `[abc]`, `[a-z]`, `[!abc]` one character in / not in the class. Inside a class `\` escapes;
 *   `-` first or last is literal; `]` must be escaped (`[\]]`); `[]` and `[!]` are errors.
 * - `{a,b}` alternatives, nested up to {@link GLOB_LIMITS.braceDepth} deep; `{}` is one empty
 *   alternative. `,` and `}` outside braces are literal.
 * - `\x` the character `x`, literally. A trailing lone `\` is an error.
 * - A leading `!` negates the whole pattern (`!rm *` matches what `rm *` does not); only the first
 *   character negates, so `!!a` matches everything except `!a`, and `\!a` matches `!a`.
 * - Anchored (the whole value) and case-sensitive.
 *
 * Safety: values are untrusted (commands an agent wrote), so matching must stay linear-ish. Braces
 * are expanded first (bounded), which makes each alternative a chain of fixed-length segments
 * separated by `*`. Each middle segment is found at its earliest position and committed to with an
 * atomic lookahead (`(?=(.*?SEG))\1`): earliest is always right for fixed-length segments, and the
 * commit stops the engine from retrying every split of the value between the stars, so a match
 * costs O(alternatives × value × pattern) instead of O(value^stars).
 */
export const GLOB_LIMITS = {
  patternChars: POLICY_LIMITS.patternChars,
  braceDepth: 8,
  /** Alternatives after brace expansion. */
  expandedAlternatives: 1024,
  /** Tokens over all alternatives after brace expansion. */
  expandedTokens: 64 * 1024,
  /** Compiled globs kept in the module cache. */
  cacheEntries: 4096,
} as const;

export class GlobError extends Error {
  override readonly name = "GlobError";
  constructor(
    /** The problem and where, e.g. `unclosed '[' at 4`. */
    message: string,
    readonly pattern: string,
    /** 0-based UTF-16 index into the pattern. */
    readonly position: number,
  ) {
    super(message);
  }
}

export interface CompiledGlob {
  readonly pattern: string;
  readonly negated: boolean;
  test(value: string): boolean;
}

type Token =
  | { kind: "lit"; cp: number }
  | { kind: "any" }
  | { kind: "star" }
  | { kind: "class"; negated: boolean; ranges: Array<readonly [number, number]> };
type GlobNode = Token | { kind: "alt"; options: GlobNode[][]; at: number };

const STAR: Token = { kind: "star" };
const ANY: Token = { kind: "any" };

class GlobParser {
  i: number;
  constructor(
    readonly src: string,
    start: number,
  ) {
    this.i = start;
  }

  fail(message: string, position: number): never {
    throw new GlobError(`${message} at ${position}`, this.src, position);
  }

  /** Reads one code point at `i` (escaped when it is `\`) and advances past it. */
  readChar(): number {
    const { src } = this;
    if (src[this.i] === "\\") {
      if (this.i + 1 >= src.length) this.fail("trailing '\\'", this.i);
      this.i++;
    }
    const cp = src.codePointAt(this.i) as number;
    this.i += cp > 0xffff ? 2 : 1;
    return cp;
  }

  parseSeq(depth: number): GlobNode[] {
    const { src } = this;
    const seq: GlobNode[] = [];
    while (this.i < src.length) {
      const c = src[this.i];
      if (depth > 0 && (c === "," || c === "}")) return seq;
      switch (c) {
        case "*":
          this.i++;
          seq.push(STAR);
          break;
        case "?":
          this.i++;
          seq.push(ANY);
          break;
        case "[":
          seq.push(this.parseClass());
          break;
        case "{":
          seq.push(this.parseBraces(depth));
          break;
        default:
          seq.push({ kind: "lit", cp: this.readChar() });
      }
    }
    return seq;
  }

  parseBraces(depth: number): GlobNode {
    const open = this.i;
    if (depth + 1 > GLOB_LIMITS.braceDepth) this.fail(`braces nested deeper than ${GLOB_LIMITS.braceDepth}`, open);
    this.i++;
    const options: GlobNode[][] = [];
    for (;;) {
      options.push(this.parseSeq(depth + 1));
      if (this.i >= this.src.length) this.fail("unclosed '{'", open);
      const c = this.src[this.i];
      this.i++;
      if (c === "}") return { kind: "alt", options, at: open };
    }
  }

  parseClass(): Token {
    const { src } = this;
    const open = this.i;
    this.i++;
    let negated = false;
    if (src[this.i] === "!") {
      negated = true;
      this.i++;
    }
    const ranges: Array<readonly [number, number]> = [];
    for (;;) {
      if (this.i >= src.length) this.fail("unclosed '['", open);
      if (src[this.i] === "]") {
        if (ranges.length === 0) this.fail("empty class", open);
        this.i++;
        return { kind: "class", negated, ranges };
      }
      const at = this.i;
      const lo = this.readChar();
      if (src[this.i] === "-" && this.i + 1 < src.length && src[this.i + 1] !== "]") {
        this.i++;
        const hi = this.readChar();
        if (hi < lo) this.fail(`invalid range '${src.slice(at, this.i)}'`, at);
        ranges.push([lo, hi]);
      } else {
        ranges.push([lo, lo]);
      }
    }
  }
}

/** Brace expansion: every alternative becomes a flat token list. Bounded by GLOB_LIMITS. */
function expand(seq: readonly GlobNode[], parser: GlobParser): Token[][] {
  let acc: Token[][] = [[]];
  for (const node of seq) {
    if (node.kind !== "alt") {
      for (const a of acc) a.push(node);
      continue;
    }
    const options = node.options.flatMap((o) => expand(o, parser));
    const count = acc.length * options.length;
    if (count > GLOB_LIMITS.expandedAlternatives) {
      parser.fail(`braces expand to more than ${GLOB_LIMITS.expandedAlternatives} alternatives`, node.at);
    }
    let tokens = 0;
    const next: Token[][] = [];
    for (const a of acc) {
      for (const o of options) {
        tokens += a.length + o.length;
        if (tokens > GLOB_LIMITS.expandedTokens) parser.fail("braces expand to a pattern too large", node.at);
        next.push([...a, ...o]);
      }
    }
    acc = next;
  }
  return acc;
}

const WORD = /^[0-9A-Za-z]$/;
function charSource(cp: number): string {
  const ch = String.fromCodePoint(cp);
  return WORD.test(ch) ? ch : `\\u{${cp.toString(16)}}`;
}

function tokenSource(t: Token): string {
  switch (t.kind) {
    case "lit":
      return charSource(t.cp);
    case "any":
      return ".";
    case "star":
      return ".*";
    case "class":
      return `[${t.negated ? "^" : ""}${t.ranges.map(([lo, hi]) => (lo === hi ? charSource(lo) : `${charSource(lo)}-${charSource(hi)}`)).join("")}]`;
  }
}

/** One alternative (stars already collapsed) as regex source; `group` numbers the capture groups. */
function alternativeSource(tokens: readonly Token[], group: { n: number }): string {
  const segments: string[] = [""];
  for (const t of tokens) {
    if (t.kind === "star") segments.push("");
    else segments[segments.length - 1] += tokenSource(t);
  }
  if (segments.length === 1) return segments[0] as string;
  let source = segments[0] as string;
  for (let s = 1; s < segments.length - 1; s++) {
    const n = ++group.n;
    source += `(?=(.*?${segments[s]}))(?:\\${n})`;
  }
  return `${source}.*${segments[segments.length - 1]}`;
}

function collapseStars(tokens: readonly Token[]): Token[] {
  return tokens.filter((t, i) => !(t.kind === "star" && tokens[i - 1]?.kind === "star"));
}

function compileUncached(pattern: string): CompiledGlob {
  if (pattern.length === 0) throw new GlobError("empty pattern at 0", pattern, 0);
  if (pattern.length > GLOB_LIMITS.patternChars) {
    throw new GlobError(`pattern longer than ${GLOB_LIMITS.patternChars} characters at ${GLOB_LIMITS.patternChars}`, pattern, GLOB_LIMITS.patternChars);
  }
  const negated = pattern[0] === "!";
  if (negated && pattern.length === 1) throw new GlobError("'!' with nothing to negate at 0", pattern, 0);
  const parser = new GlobParser(pattern, negated ? 1 : 0);
  const alternatives = expand(parser.parseSeq(0), parser).map(collapseStars);

  // Fast paths for the most common shapes: a literal (tool names) and `*`.
  const only = alternatives.length === 1 ? alternatives[0] : undefined;
  if (only && only.every((t) => t.kind === "lit")) {
    const literal = String.fromCodePoint(...only.map((t) => (t.kind === "lit" ? t.cp : 0)));
    return { pattern, negated, test: (value) => (value === literal) !== negated };
  }
  if (only && only.length === 1 && only[0]?.kind === "star") {
    return { pattern, negated, test: () => !negated };
  }

  const group = { n: 0 };
  const sources = [...new Set(alternatives.map((a) => alternativeSource(a, group)))];
  let regex: RegExp;
  try {
    regex = new RegExp(`^(?:${sources.join("|")})$`, "su");
  } catch {
    // Not expected within GLOB_LIMITS; reported as a glob error so validateGlob stays exact.
    throw new GlobError("pattern too complex at 0", pattern, 0);
  }
  return { pattern, negated, test: (value) => regex.test(value) !== negated };
}

const cache = new Map<string, CompiledGlob>();

/** Compiles a glob (see the dialect above); throws {@link GlobError}. Results are cached. */
export function compileGlob(pattern: string): CompiledGlob {
  const hit = cache.get(pattern);
  if (hit) return hit;
  const compiled = compileUncached(pattern);
  if (cache.size >= GLOB_LIMITS.cacheEntries) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(pattern, compiled);
  return compiled;
}

/** The problem with a glob (`unclosed '[' at 4`), or null when it compiles. */
export function validateGlob(pattern: string): string | null {
  try {
    compileGlob(pattern);
    return null;
  } catch (err) {
    if (err instanceof GlobError) return err.message;
    throw err;
  }
}

/** A pattern matching exactly `value`: every character the dialect treats specially is escaped. */
export function escapeGlob(value: string): string {
  return value.replace(/[*?[\]{}\\!,-]/g, "\\$&");
}
