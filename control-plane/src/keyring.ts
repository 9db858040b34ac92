import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { AppError } from "@codepiper/core";

/**
 * Envelope encryption for secrets at rest (issue 5): every record gets its own random 256-bit data
 * key (AES-256-GCM); the data key is stored wrapped by a master key, and the master key never
 * enters the database.
 *
 * Master keys live in `<data dir>/master-keys.json` (0600, created on first use) or come from
 * `CODEPIPER_MASTER_KEY` (`<version>:<base64 32 bytes>[,<version>:<base64>…]`, for deployments that
 * keep secrets in their orchestrator). They are versioned: new data keys are wrapped with the
 * highest version; `rotate()` adds a version and callers re-wrap every data key (the records
 * themselves are not re-encrypted, so rotation is fast and needs no downtime). Decrypting with the
 * wrong master key fails with a clear error and never touches the stored ciphertext.
 */
const fileSchema = z.object({ current: z.number().int().positive(), keys: z.record(z.string().regex(/^\d+$/), z.string()) });
const KEY_BYTES = 32;

export interface Sealed {
  ciphertext: string;
  wrappedKey: string;
  keyVersion: number;
}

function gcmEncrypt(key: Buffer, plaintext: Buffer, aad: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
}

function gcmDecrypt(key: Buffer, text: string, aad: string): Buffer {
  const raw = Buffer.from(text, "base64");
  if (raw.length < 28) throw new Error("ciphertext too short");
  const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
}

export class Keyring {
  private constructor(
    private readonly keys: Map<number, Buffer>,
    private current: number,
    private readonly file: string | null,
  ) {}

  /** Loads (or, with no environment key, creates) the master keys of a data dir. */
  static open(dataDir: string, env: NodeJS.ProcessEnv = process.env): Keyring {
    const fromEnv = env.CODEPIPER_MASTER_KEY;
    if (fromEnv) {
      const keys = new Map<number, Buffer>();
      for (const part of fromEnv.split(",")) {
        const m = /^(\d+):([A-Za-z0-9+/=_-]+)$/.exec(part.trim());
        const key = m ? Buffer.from(m[2]!, "base64") : null;
        if (!m || !key || key.length !== KEY_BYTES) throw new AppError("CODEPIPER_BAD_INPUT", "CODEPIPER_MASTER_KEY must be <version>:<base64 of 32 bytes>[,…] (e.g. 1:$(head -c32 /dev/urandom | base64))");
        keys.set(Number(m[1]), key);
      }
      return new Keyring(keys, Math.max(...keys.keys()), null);
    }
    const file = join(dataDir, "master-keys.json");
    if (!existsSync(file)) {
      const ring = new Keyring(new Map([[1, randomBytes(KEY_BYTES)]]), 1, file);
      ring.save();
      return ring;
    }
    let parsed;
    try {
      parsed = fileSchema.parse(JSON.parse(readFileSync(file, "utf8")));
    } catch (err) {
      throw new AppError("CODEPIPER_BAD_INPUT", `${file} is not a valid master key file; restore it from your backup (without it, encrypted env sets cannot be read)`, { cause: err });
    }
    const keys = new Map(Object.entries(parsed.keys).map(([v, k]) => [Number(v), Buffer.from(k, "base64")] as const));
    return new Keyring(keys, parsed.current, file);
  }

  get currentVersion(): number {
    return this.current;
  }

  get versions(): number[] {
    return [...this.keys.keys()].sort((a, b) => a - b);
  }

  /** Encrypts one record with a fresh data key. `aad` binds it to its row (e.g. `envset:<id>`). */
  seal(plaintext: string, aad: string): Sealed {
    const dataKey = randomBytes(KEY_BYTES);
    return {
      ciphertext: gcmEncrypt(dataKey, Buffer.from(plaintext, "utf8"), aad),
      wrappedKey: this.wrap(dataKey, this.current),
      keyVersion: this.current,
    };
  }

  open(sealed: Sealed, aad: string, what: string): string {
    const dataKey = this.unwrap(sealed.wrappedKey, sealed.keyVersion, what);
    try {
      return gcmDecrypt(dataKey, sealed.ciphertext, aad).toString("utf8");
    } catch (err) {
      throw new AppError("CODEPIPER_INTERNAL", `cannot decrypt ${what}: the record does not match its key (tampered with, or moved between rows)`, { cause: err });
    }
  }

  /** Re-wraps a data key under the current master key (rotation). */
  rewrap(sealed: Pick<Sealed, "wrappedKey" | "keyVersion">, what: string): Pick<Sealed, "wrappedKey" | "keyVersion"> {
    const dataKey = this.unwrap(sealed.wrappedKey, sealed.keyVersion, what);
    return { wrappedKey: this.wrap(dataKey, this.current), keyVersion: this.current };
  }

  /** Adds a new master key version and makes it current (file keyrings only). */
  rotate(): number {
    if (!this.file) throw new AppError("CODEPIPER_CONFLICT", "the master key comes from CODEPIPER_MASTER_KEY: add a new <version>:<key> there (keep the old one until `codepiper keys rotate` has re-wrapped everything) and restart");
    const next = Math.max(...this.keys.keys()) + 1;
    this.keys.set(next, randomBytes(KEY_BYTES));
    this.current = next;
    this.save();
    return next;
  }

  private wrap(dataKey: Buffer, version: number): string {
    const master = this.keys.get(version);
    if (!master) throw new AppError("CODEPIPER_INTERNAL", `master key version ${version} is missing`);
    return gcmEncrypt(master, dataKey, `codepiper-dek-v${version}`);
  }

  private unwrap(wrapped: string, version: number, what: string): Buffer {
    const master = this.keys.get(version);
    if (!master) throw new AppError("CODEPIPER_INTERNAL", `cannot decrypt ${what}: master key version ${version} is not available here (restore master-keys.json or CODEPIPER_MASTER_KEY)`);
    try {
      return gcmDecrypt(master, wrapped, `codepiper-dek-v${version}`);
    } catch (err) {
      throw new AppError("CODEPIPER_INTERNAL", `cannot decrypt ${what}: the master key (version ${version}) is not the one it was encrypted with`, { cause: err });
    }
  }

  private save(): void {
    if (!this.file) return;
    const keys: Record<string, string> = {};
    for (const [v, k] of this.keys) keys[String(v)] = k.toString("base64");
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ current: this.current, keys }, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }
}
