/**
 * POSIX shell quoting for hook `command` strings. Claude Code and Codex both run a command hook
 * through `sh -c`, so an argv (which may contain paths with spaces or quotes) must be joined into
 * one string that the shell splits back into exactly the same words.
 */

const SAFE = /^[A-Za-z0-9_\-./:=@%+,]+$/;

/** Quotes one word: unchanged when it is plainly safe, else single-quoted with `'` escaped as `'\''`. */
export function shellQuote(word: string): string {
  if (word !== "" && SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Joins an argv into a command line that `sh -c` splits back into the same argv. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}
