/**
 * Helpers for reading a captured pane (plain text from `tmux capture-pane -p -J`). Both TUIs draw
 * the composer near the bottom, its first line starting with a prompt glyph (Claude Code `❯`,
 * Codex `›`). The same glyph also marks the user's earlier prompts in the scrollback, so only the
 * LAST line carrying the glyph is the composer.
 */

/** The composer's first line without the glyph, or null when no glyph line is in the pane. */
export function composerLine(pane: string, glyph: string): string | null {
  const lines = pane.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const t = (lines[i] ?? "").trim();
    if (t.startsWith(glyph)) return t.slice(glyph.length).trim();
  }
  return null;
}

/**
 * True when the composer still starts with `text`. Only the first line of the text is compared
 * (long prompts wrap) and at most its first 40 characters. Conservative: false for an empty text
 * and when no composer is visible.
 */
export function composerHolds(pane: string, glyph: string, text: string): boolean {
  const probe = (text.split("\n")[0] ?? "").trim().slice(0, 40);
  if (!probe) return false;
  const line = composerLine(pane, glyph);
  return line !== null && line.startsWith(probe);
}
