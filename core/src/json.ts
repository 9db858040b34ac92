import { z } from "zod";

/** Byte length of a value's JSON text (UTF-8). */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? "", "utf8");
}

/** Any JSON value whose serialized form is at most `max` bytes. */
export function boundedJson(max: number) {
  return z.unknown().superRefine((value, ctx) => {
    let size: number;
    try {
      size = jsonBytes(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "must be JSON-serializable" });
      return;
    }
    if (size > max) ctx.addIssue({ code: "custom", message: `is ${size} bytes; the limit is ${max}` });
  });
}
