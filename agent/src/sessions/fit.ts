/**
 * Making an event payload fit a byte budget without dropping the event (hook observations, approval
 * arguments, transcript events): an observation that is too big still arrives, shortened, and says
 * so. One implementation for every caller, so "how big can a payload get" has one answer.
 */

export type Payload = Record<string, unknown>;

export interface FitOptions {
  /**
   * Top-level keys whose structured value becomes its JSON text when the payload has to be cut
   * (the transcript's tool `input`): a prefix of the text then survives instead of a reshaped object.
   */
  asText?: readonly string[];
}

/** Strings at most this long (bytes of their JSON literal) are never cut: not worth a marker. */
const MIN_CUT_BYTES = 48;
/** When cutting strings is not enough, arrays are shortened to these lengths, in turn. */
const ARRAY_CAPS = [Number.POSITIVE_INFINITY, 200, 20] as const;
/** Rounds of "cut to a level, measure again" before giving up on a shape. */
const ROUNDS = 8;

const jsonBytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v) ?? "null", "utf8");
const cutMarker = (chars: number): string => `…[cut ${chars} chars]`;

/**
 * Returns `value` itself when its JSON is at most `maxBytes` (UTF-8), otherwise a copy that is:
 * the longest strings, at any depth (objects and arrays), cut to a common length, each ending with
 * a `…[cut N chars]` marker, and the payload marked `truncated: true`. Keys in `opts.asText` become
 * JSON text first. If strings alone cannot make it fit, long arrays are shortened too; if even that
 * fails (e.g. tens of thousands of keys), a small summary `{ truncated, note, keys }` is returned.
 * The result's JSON is always at most `maxBytes` (for any budget of at least 16 bytes).
 */
export function fitPayload(value: Payload, maxBytes: number, opts: FitOptions = {}): Payload {
  if (upperBound(value) <= maxBytes) return value;
  if (jsonBytes(value) <= maxBytes) return value;
  for (const cap of ARRAY_CAPS) {
    const out = prepare(value, opts, cap);
    if (cutStrings(out, maxBytes)) return out;
  }
  return summary(value, maxBytes);
}

/**
 * A cheap upper bound of a flat payload's JSON size (a string costs at most 6 bytes per UTF-16
 * unit), so the common small event is not serialized an extra time (the outbox serializes it anyway).
 */
function upperBound(payload: Payload): number {
  let n = 2;
  for (const [k, v] of Object.entries(payload)) {
    n += k.length * 6 + 4;
    if (typeof v === "string") n += v.length * 6 + 2;
    else if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) n += 24;
    else return Number.POSITIVE_INFINITY; // structured: measure it
  }
  return n;
}

/** A deep JSON copy with `asText` keys turned into text, arrays capped at `cap` items, marked truncated. */
function prepare(value: Payload, opts: FitOptions, cap: number): Payload {
  const out = JSON.parse(JSON.stringify(value)) as Payload;
  for (const k of opts.asText ?? []) {
    if (Object.hasOwn(out, k) && typeof out[k] !== "string") out[k] = JSON.stringify(out[k]) ?? "null";
  }
  const capped = Number.isFinite(cap) ? (capArrays(out, cap) as Payload) : out;
  capped.truncated = true;
  return capped;
}

function capArrays(value: unknown, cap: number): unknown {
  if (Array.isArray(value)) return value.slice(0, cap).map((v) => capArrays(v, cap));
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    for (const k of Object.keys(obj)) obj[k] = capArrays(obj[k], cap);
  }
  return value;
}

interface Leaf {
  holder: Record<string, unknown> | unknown[];
  key: string | number;
  /** The string before any cut: every cut starts from it, so the marker counts from the original. */
  original: string;
  /** JSON bytes of the string as it is now. */
  bytes: number;
}

function collectLeaves(value: unknown, out: Leaf[]): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      if (typeof v === "string") out.push({ holder: value, key: i, original: v, bytes: jsonBytes(v) });
      else collectLeaves(v, out);
    });
  } else if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v === "string") out.push({ holder: obj, key: k, original: v, bytes: jsonBytes(v) });
      else collectLeaves(v, out);
    }
  }
}

/**
 * Cuts the strings of `root` (in place) so its JSON fits `maxBytes`: finds the highest level L such
 * that cutting every string longer than L bytes down to L saves enough, cuts, measures, and repeats
 * (marker rounding can leave a few bytes over). True when it fits.
 */
function cutStrings(root: Payload, maxBytes: number): boolean {
  const leaves: Leaf[] = [];
  collectLeaves(root, leaves);
  let size = jsonBytes(root);
  for (let round = 0; round < ROUNDS && size > maxBytes; round++) {
    const excess = size - maxBytes;
    const saved = (level: number): number => leaves.reduce((n, l) => n + Math.max(0, l.bytes - level), 0);
    let top = leaves.reduce((m, l) => Math.max(m, l.bytes), 0);
    if (top <= MIN_CUT_BYTES) return false; // nothing left worth cutting
    let lo = MIN_CUT_BYTES;
    if (saved(lo) >= excess) {
      // Largest level that still saves enough: the fewest, longest strings are cut.
      while (lo < top) {
        const mid = Math.ceil((lo + top) / 2);
        if (saved(mid) >= excess) lo = mid;
        else top = mid - 1;
      }
    }
    for (const leaf of leaves) {
      if (leaf.bytes <= lo) continue;
      const cut = cutTo(leaf.original, lo);
      (leaf.holder as Record<string | number, unknown>)[leaf.key] = cut;
      leaf.bytes = jsonBytes(cut);
    }
    size = jsonBytes(root);
  }
  return size <= maxBytes;
}

/** `s` cut so that its JSON literal, marker included, is at most `maxBytes` (≥ MIN_CUT_BYTES). */
function cutTo(s: string, maxBytes: number): string {
  // The marker is plain text (no JSON escapes): it adds its UTF-8 length. Sized for the largest count.
  const markerBytes = Buffer.byteLength(cutMarker(s.length), "utf8");
  const prefix = prefixWithin(s, Math.max(2, maxBytes - markerBytes));
  return `${prefix}${cutMarker(s.length - prefix.length)}`;
}

/** The longest prefix of `s` whose JSON string literal is at most `maxBytes` (never splits a surrogate pair). */
function prefixWithin(s: string, maxBytes: number): string {
  let lo = 0;
  let hi = Math.min(s.length, maxBytes);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (jsonBytes(s.slice(0, mid)) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  let end = lo;
  const last = s.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end -= 1;
  return s.slice(0, end);
}

/** The last resort: what the payload had, not what was in it, still within `maxBytes` when possible. */
function summary(value: Payload, maxBytes: number): Payload {
  const keys = Object.keys(value)
    .slice(0, 50)
    .map((k) => (k.length > 64 ? `${k.slice(0, 64)}…` : k));
  while (keys.length > 0) {
    const out = { truncated: true, note: "payload too large to keep", keys };
    if (jsonBytes(out) <= maxBytes) return out;
    keys.pop();
  }
  const bare = { truncated: true, note: "payload too large to keep" };
  return jsonBytes(bare) <= maxBytes ? bare : { truncated: true };
}
