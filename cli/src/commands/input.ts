import type { Command } from "commander";
import { AppError } from "@codepiper/core";
import { call } from "../client.js";
import { outputFor, withApi } from "../context.js";
import { MASTER_KEY_COMMANDS, runMasterKeyCommand } from "./envsets.js";
import { checkKeyNames, checkTextSize, KEY_NAMES_HELP, parseDimension, parseSlash, readStdinText } from "../session-input.js";
import { shortId } from "./sessions.js";

export function registerInput(program: Command): void {
  program
    .command("send")
    .description("type text into a session and press Enter (at most 1 MiB)")
    .argument("<session>", "session id, unique id prefix, or name")
    .argument("<text>", "the text, or - to read it from standard input (one trailing newline is dropped)")
    .option("--no-newline", "type the text without pressing Enter")
    .action(async (session: string, textArg: string, opts: { newline: boolean }, cmd: Command) => {
      const out = outputFor(cmd);
      const text = textArg === "-" ? await readStdinText() : checkTextSize(textArg);
      if (text.length === 0) throw new AppError("CODEPIPER_BAD_INPUT", `no text to send; to press a key use codepiper keys ${session} enter`);
      const res = await withApi(cmd, (h) => call(h, (api) => api.sessions.send.mutate({ session, text, enter: opts.newline })));
      out.result(res, () => `sent ${res.chars} characters to ${shortId(res.sessionId)}${opts.newline ? " and pressed Enter" : ""}`);
    });

  program
    .command("keys")
    .description("press named keys in a session, in order; also: keys rotate | keys status (master keys)")
    .argument("<session>", "session id, unique id prefix, or name")
    .argument("[keys...]", `key names: ${KEY_NAMES_HELP}`)
    .addHelpText(
      "after",
      "\nExample: codepiper keys 3f2a escape escape ctrl+c\n\nMaster keys (env set encryption):\n  codepiper keys status   current key version, records per version\n  codepiper keys rotate   new master key version; re-wraps every data key (admin)\n(A session named rotate or status is addressed by its id here.)",
    )
    .action(async (session: string, names: string[], _opts: unknown, cmd: Command) => {
      if (names.length === 0) {
        const sub = MASTER_KEY_COMMANDS.find((c) => c === session);
        if (sub) return runMasterKeyCommand(sub, cmd);
        throw new AppError("CODEPIPER_BAD_INPUT", "missing required argument 'keys' (e.g. codepiper keys <session> enter; or codepiper keys rotate | keys status)");
      }
      const out = outputFor(cmd);
      const keys = checkKeyNames(names);
      const res = await withApi(cmd, (h) => call(h, (api) => api.sessions.keys.mutate({ session, keys })));
      out.result(res, () => `pressed ${keys.join(" ")} in ${shortId(res.sessionId)}`);
    });

  program
    .command("slash")
    .description("run a provider slash command (e.g. compact, clear, model opus) in a session")
    .argument("<session>", "session id, unique id prefix, or name")
    .argument("<command>", "the command, with or without the leading /")
    .argument("[args...]", "its arguments (one line)")
    .action(async (session: string, command: string, args: string[], _opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const slash = parseSlash(command, args);
      const res = await withApi(cmd, (h) => call(h, (api) => api.sessions.slash.mutate({ session, ...slash })));
      out.result(res, () => `typed ${res.text} in ${shortId(res.sessionId)}`);
    });

  program
    .command("resize")
    .description("resize a session's terminal")
    .argument("<session>", "session id, unique id prefix, or name")
    .argument("<cols>", "columns (2-1000)")
    .argument("<rows>", "rows (2-1000)")
    .action(async (session: string, colsArg: string, rowsArg: string, _opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const cols = parseDimension(colsArg, "cols", 2);
      const rows = parseDimension(rowsArg, "rows", 2);
      const res = await withApi(cmd, (h) => call(h, (api) => api.sessions.resize.mutate({ session, cols, rows })));
      out.result(res, () => `resized ${shortId(res.sessionId)} to ${res.cols}x${res.rows}`);
    });
}
