// Client-side checks for env set variables: the same rules as the control plane
// (control-plane/src/envsets/mask.ts), so mistakes show next to the field before a round trip.
// The server checks again; its message is shown if it still refuses.

export const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const ENV_SET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const LIMITS = { varsMax: 500, valueBytesMax: 64 * 1024, totalBytesMax: 256 * 1024, nameMax: 100, varNameMax: 256, descriptionMax: 1000 } as const;

const encoder = new TextEncoder();
export function byteLength(s: string): number {
  return encoder.encode(s).length;
}

/** Why a variable name is refused, or null. */
export function varNameProblem(name: string): string | null {
  if (name === "") return "Enter a variable name.";
  if (name.length > LIMITS.varNameMax) return `At most ${LIMITS.varNameMax} characters.`;
  if (!ENV_VAR_NAME.test(name)) return "Use letters, digits and _, not starting with a digit.";
  return null;
}

/** Why a value is refused, or null. */
export function valueProblem(value: string): string | null {
  if (value.includes("\0")) return "The value contains a NUL byte.";
  const bytes = byteLength(value);
  if (bytes > LIMITS.valueBytesMax) return `The value is ${Math.ceil(bytes / 1024)} KiB; at most 64 KiB.`;
  return null;
}

/** Why an env set name is refused, or null. */
export function setNameProblem(name: string): string | null {
  const n = name.trim();
  if (n === "") return "Enter a name.";
  if (n.length > LIMITS.nameMax) return `At most ${LIMITS.nameMax} characters.`;
  if (!ENV_SET_NAME.test(n)) return "Use letters, digits, '.', '_' and '-', starting with a letter or digit.";
  return null;
}

export interface DotenvResult {
  vars: { name: string; value: string; line: number }[];
  problems: { line: number; message: string }[];
}

function unescapeDouble(s: string): string {
  return s.replace(/\\([nrt"\\$])/g, (_, c: string) => (c === "n" ? "\n" : c === "r" ? "\r" : c === "t" ? "\t" : c));
}

/**
 * Parses dotenv text: `NAME=value` lines, optional `export `, blank lines and `#` comments,
 * single quotes (literal), double quotes (\n \t \" \\ escapes; may span lines), and unquoted
 * values with a trailing ` # comment`. A later duplicate wins. Problems name the line.
 */
export function parseDotenv(text: string): DotenvResult {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const vars = new Map<string, { name: string; value: string; line: number }>();
  const problems: { line: number; message: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const body = trimmed.replace(/^export\s+/, "");
    const eq = body.indexOf("=");
    if (eq < 0) {
      problems.push({ line: lineNo, message: "expected NAME=value" });
      continue;
    }
    const name = body.slice(0, eq).trim();
    let rest = body.slice(eq + 1).trimStart();
    let value: string;
    const quote = rest[0];
    if (quote === '"' || quote === "'") {
      // Find the closing quote, possibly on a later line.
      let acc = rest.slice(1);
      let end = findClose(acc, quote);
      let j = i;
      while (end < 0 && j + 1 < lines.length) {
        j++;
        acc += `\n${lines[j]!}`;
        end = findClose(acc, quote);
      }
      if (end < 0) {
        problems.push({ line: lineNo, message: `the ${quote === '"' ? "double" : "single"} quote is never closed` });
        break;
      }
      const inner = acc.slice(0, end);
      const after = acc.slice(end + 1).trim();
      i = j;
      if (after !== "" && !after.startsWith("#")) {
        problems.push({ line: lineNo, message: "unexpected text after the closing quote" });
        continue;
      }
      value = quote === '"' ? unescapeDouble(inner) : inner;
    } else {
      const hash = rest.search(/\s#/);
      if (hash >= 0) rest = rest.slice(0, hash);
      value = rest.trim();
    }
    const nameProblem = varNameProblem(name);
    if (nameProblem) {
      problems.push({ line: lineNo, message: `${JSON.stringify(name.slice(0, 60))} is not a valid variable name (${nameProblem.replace(/\.$/, "").toLowerCase()})` });
      continue;
    }
    const vp = valueProblem(value);
    if (vp) {
      problems.push({ line: lineNo, message: `${name}: ${vp}` });
      continue;
    }
    vars.delete(name);
    vars.set(name, { name, value, line: lineNo });
  }
  return { vars: [...vars.values()], problems };
}

function findClose(s: string, quote: string): number {
  for (let k = 0; k < s.length; k++) {
    if (quote === '"' && s[k] === "\\") {
      k++;
      continue;
    }
    if (s[k] === quote) return k;
  }
  return -1;
}
