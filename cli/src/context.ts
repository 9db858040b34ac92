import type { Command } from "commander";
import { createApi, type ApiHandle } from "./client.js";
import { resolveTarget } from "./config.js";
import { createOutput, type Output } from "./output.js";

export interface GlobalOptions {
  json?: boolean;
  url?: string;
  configDir?: string;
}

/** Options shared by every command, read from the root program. */
export function globals(cmd: Command): GlobalOptions {
  let root = cmd;
  while (root.parent) root = root.parent;
  return { ...root.opts<GlobalOptions>(), ...cmd.optsWithGlobals<GlobalOptions>() };
}

export function outputFor(cmd: Command): Output {
  return createOutput(Boolean(globals(cmd).json));
}

/** Opens an API client for a remote command; closes it when `fn` settles. */
export async function withApi<T>(cmd: Command, fn: (handle: ApiHandle) => Promise<T>): Promise<T> {
  const g = globals(cmd);
  const handle = createApi(resolveTarget({ url: g.url, configDir: g.configDir }));
  try {
    return await fn(handle);
  } finally {
    await handle.close();
  }
}
