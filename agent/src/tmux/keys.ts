import { AppError } from "@codepiper/core";

/**
 * The key names the fleet accepts (`codepiper keys <id> ctrl+c enter …`, issue 3) and the tmux key
 * each one becomes. A closed table rather than passing names through: tmux would happily interpret
 * anything it knows (`C-M-S-F20`, `MouseDown1Pane`, or a literal string typed key by key), so an
 * unvalidated name is a way to type text that bypasses the input policy. Pure: the CLI imports it to
 * reject bad names before anything leaves the operator's machine.
 */
const NAMED_KEYS: Readonly<Record<string, string>> = {
  enter: "Enter",
  escape: "Escape",
  tab: "Tab",
  backspace: "BSpace",
  up: "Up",
  down: "Down",
  left: "Left",
  right: "Right",
  home: "Home",
  end: "End",
  pageup: "PPage",
  pagedown: "NPage",
  space: "Space",
};

const LETTER = /^[a-z]$/;
const FUNCTION_KEY = /^f([1-9]|1[0-2])$/;

/** Every accepted name, in a stable order: for help text and error messages. */
export const KEY_NAMES: readonly string[] = [
  ...Object.keys(NAMED_KEYS),
  "ctrl+<a-z>",
  "alt+<a-z>",
  "f1…f12",
];

/**
 * Maps one fleet key name to its tmux key name, or returns undefined when it is not in the table.
 * Names are case-insensitive and surrounding blanks are ignored (`Ctrl+C` is `ctrl+c`).
 */
export function tmuxKeyFor(name: string): string | undefined {
  const key = name.trim().toLowerCase();
  if (Object.hasOwn(NAMED_KEYS, key)) return NAMED_KEYS[key];
  if (FUNCTION_KEY.test(key)) return key.toUpperCase();
  const plus = key.indexOf("+");
  if (plus > 0) {
    const modifier = key.slice(0, plus);
    const letter = key.slice(plus + 1);
    if (!LETTER.test(letter)) return undefined;
    if (modifier === "ctrl") return `C-${letter}`;
    if (modifier === "alt") return `M-${letter}`;
  }
  return undefined;
}

/** True when `name` is a key the fleet accepts. */
export function isKeyName(name: string): boolean {
  return tmuxKeyFor(name) !== undefined;
}

/**
 * Maps a list of key names to tmux key names, all or nothing: one unknown name rejects the whole
 * list, so a typo never sends half a sequence (e.g. `escape` without the `:q` that should follow).
 */
export function parseKeys(names: readonly string[]): string[] {
  if (names.length === 0) throw new AppError("CODEPIPER_BAD_INPUT", "no keys given");
  return names.map((name) => {
    const key = tmuxKeyFor(name);
    if (key === undefined) {
      const shown = JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name);
      throw new AppError("CODEPIPER_BAD_INPUT", `unknown key ${shown}: expected one of ${KEY_NAMES.join(", ")}`);
    }
    return key;
  });
}

/**
 * True when a named key can interrupt the agent (end its turn, refuse a permission prompt):
 * `escape` or `ctrl+c`, case-insensitive, surrounding blanks ignored.
 */
export function isInterruptKey(name: string): boolean {
  const key = name.trim().toLowerCase();
  return key === "escape" || key === "ctrl+c";
}

const ESC = 0x1b;
const ETX = 0x03; // Ctrl+C

/**
 * The raw-input counterpart of {@link isInterruptKey}, for bytes typed into the terminal
 * (`sessions.input`: the dashboard's terminal, `codepiper attach`): true when they contain Ctrl+C
 * (0x03) or are exactly a lone Escape (xterm sends the Escape key as the single byte 0x1b). Escape
 * sequences (arrows `\x1b[A`, Alt+x `\x1bx`, pastes) also start with 0x1b and are not interrupts.
 */
export function isInterrupt(bytes: Uint8Array): boolean {
  if (bytes.length === 1 && bytes[0] === ESC) return true;
  return bytes.includes(ETX);
}
