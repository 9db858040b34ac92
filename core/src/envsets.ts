// Env set rules shared by the control plane (which enforces them), the CLI and the dashboard
// (which check before sending): variable names, sizes, and the dotenv format. Pure: no I/O.
// Values are secrets: no message produced here ever contains one (names and line numbers only).

export const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** An env set's own name. */
export const ENV_SET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const ENV_SET_LIMITS = {
  varsMax: 500,
  varNameMax: 256,
  valueBytesMax: 64 * 1024,
  totalBytesMax: 256 * 1024,
  nameMax: 100,
  descriptionMax: 1000,
} as const;

const encoder = new TextEncoder();

/** A variable name, quoted and cut short for messages (names are not secret). */
export function showEnvName(name: string): string {
  return JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name);
}

/** Why `value` cannot be stored for `name`, or null. Never mentions the value itself. */
export function envValueProblem(name: string, value: string): string | null {
  if (encoder.encode(value).length > ENV_SET_LIMITS.valueBytesMax) return `${name}: the value is over 64 KiB`;
  if (value.includes("\0")) return `${name}: the value contains a NUL byte`;
  return null;
}

export interface DotenvVar {
  name: string;
  value: string;
  /** The line the variable starts on (1-based). */
  line: number;
}

export interface DotenvProblem {
  line: number;
  message: string;
}

/**
 * Dotenv text: `KEY=VALUE` lines, an optional `export ` prefix, `#` comments and blank lines, a
 * leading BOM and CRLF line ends. Values: unquoted (trimmed; ` #…` starts a comment),
 * 'single-quoted' (literal), or "double-quoted" (\n \r \t \" \\ escapes; may span lines). A later
 * duplicate wins. Every bad line is reported (with its number), the rest still parsed.
 */
export function parseDotenv(text: string): { vars: DotenvVar[]; problems: DotenvProblem[] } {
  const vars = new Map<string, DotenvVar>();
  const problems: DotenvProblem[] = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!;
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const m = /^\s*(?:export\s+)?([^=\s]+)\s*=\s?(.*)$/.exec(line);
    if (!m) {
      problems.push({ line: lineNo, message: "expected NAME=value" });
      continue;
    }
    const name = m[1]!;
    if (!ENV_VAR_NAME.test(name) || name.length > ENV_SET_LIMITS.varNameMax) {
      problems.push({ line: lineNo, message: `${showEnvName(name)} is not a valid variable name (letters, digits and _, not starting with a digit)` });
      continue;
    }
    let rest = m[2]!.replace(/^\s+/, "");
    let value: string;
    let trailing: { text: string; line: number } | null = null;
    if (rest.startsWith("'")) {
      const end = rest.indexOf("'", 1);
      if (end < 0) {
        problems.push({ line: lineNo, message: `${name}: unterminated single quote` });
        continue;
      }
      value = rest.slice(1, end);
      trailing = { text: rest.slice(end + 1), line: lineNo };
    } else if (rest.startsWith('"')) {
      let out = "";
      let j = 1;
      let open = true;
      for (;;) {
        if (j >= rest.length) {
          // The value continues on the next line.
          if (i + 1 >= lines.length) break;
          i++;
          out += "\n";
          rest = lines[i]!;
          j = 0;
          continue;
        }
        const c = rest[j]!;
        if (c === "\\" && j + 1 < rest.length) {
          const n = rest[j + 1]!;
          out += n === "n" ? "\n" : n === "r" ? "\r" : n === "t" ? "\t" : n === '"' ? '"' : n === "\\" ? "\\" : `\\${n}`;
          j += 2;
          continue;
        }
        if (c === '"') {
          open = false;
          break;
        }
        out += c;
        j++;
      }
      if (open) {
        problems.push({ line: lineNo, message: `${name}: unterminated double quote` });
        break; // it ran to the end of the text
      }
      value = out;
      trailing = { text: rest.slice(j + 1), line: i + 1 };
    } else {
      const hash = rest.search(/\s#/);
      value = (hash < 0 ? rest : rest.slice(0, hash)).trim();
    }
    const after = trailing?.text.trim() ?? "";
    if (trailing && after !== "" && !after.startsWith("#")) {
      problems.push({ line: trailing.line, message: `${name}: unexpected text after the closing quote` });
      continue;
    }
    const problem = envValueProblem(name, value);
    if (problem) {
      problems.push({ line: lineNo, message: problem });
      continue;
    }
    vars.delete(name);
    vars.set(name, { name, value, line: lineNo });
  }
  return { vars: [...vars.values()], problems };
}
