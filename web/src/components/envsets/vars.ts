// Client-side checks for env set variables with the control plane's own rules and limits (from
// core), worded for a form field, so mistakes show next to the field before a round trip. The
// server checks again; its message is shown if it still refuses. Dotenv text: core's parseDotenv.
import { ENV_SET_LIMITS as LIMITS, ENV_SET_NAME, ENV_VAR_NAME } from "@codepiper/core";

export { LIMITS };
export { parseDotenv } from "@codepiper/core";

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
