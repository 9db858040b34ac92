import { AppError, ENV_SET_LIMITS, ENV_VAR_NAME, showEnvName as showName } from "@codepiper/core";

/**
 * Env set values are never returned by the API, only masked. A value shows its last 4 characters
 * (`****last4`) only when it is at least 12 characters long, so at most a third of it is revealed;
 * shorter values (PINs, ports, flags, the empty string) show `****` alone.
 */
export const MASK_REVEAL_MIN = 12;

export function maskValue(value: string): string {
  const chars = Array.from(value);
  return chars.length >= MASK_REVEAL_MIN ? `****${chars.slice(-4).join("")}` : "****";
}

function bad(message: string): AppError {
  return new AppError("CODEPIPER_BAD_INPUT", message);
}

export function checkVarName(name: string): string {
  if (!ENV_VAR_NAME.test(name) || name.length > ENV_SET_LIMITS.varNameMax) throw bad(`${showName(name)} is not a valid variable name (letters, digits and _, not starting with a digit, at most 256 characters)`);
  return name;
}

/** Checks names and sizes of a whole env set; messages name the variable, never its value. */
export function checkVars(vars: Record<string, string>): Record<string, string> {
  const names = Object.keys(vars);
  if (names.length > ENV_SET_LIMITS.varsMax) throw bad(`an env set holds at most ${ENV_SET_LIMITS.varsMax} variables (got ${names.length})`);
  let total = 0;
  for (const name of names) {
    checkVarName(name);
    const value = vars[name]!;
    if (typeof value !== "string") throw bad(`${name}: the value must be a string`);
    if (value.includes("\0")) throw bad(`${name}: the value contains a NUL byte`);
    const bytes = Buffer.byteLength(value);
    if (bytes > ENV_SET_LIMITS.valueBytesMax) throw bad(`${name}: the value is over 64 KiB (${bytes} bytes)`);
    total += bytes + Buffer.byteLength(name);
  }
  if (total > ENV_SET_LIMITS.totalBytesMax) throw bad(`the env set is over 256 KiB in total (${total} bytes of names and values)`);
  return vars;
}
