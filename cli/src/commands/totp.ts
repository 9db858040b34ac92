import type { Command } from "commander";
import { AppError } from "@codepiper/core";
import { call } from "../client.js";
import { outputFor, withApi } from "../context.js";
import { readStdinSecret } from "../parse.js";

export function registerTotp(program: Command): void {
  const totp = program.command("totp").description("two-factor authentication (TOTP, RFC 6238) for your account: setup, enable, disable, status");

  totp
    .command("setup")
    .description("create a new TOTP secret: add it to your authenticator app, then run totp enable --code <code>")
    .action(async (_opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const setup = await withApi(cmd, (h) => call(h, (api) => api.auth.totp.setup.mutate()));
      out.result(setup, () => `Secret: ${setup.secret}\nURI:    ${setup.uri}\n\nAdd it to your authenticator app (shown only now), then: codepiper totp enable --code <6 digits>`);
    });

  totp
    .command("enable")
    .description("turn TOTP on with a code from your authenticator; prints 10 single-use recovery codes, once")
    .requiredOption("--code <code>", "the current 6-digit code")
    .action(async (opts: { code: string }, cmd: Command) => {
      const out = outputFor(cmd);
      const enabled = await withApi(cmd, (h) => call(h, (api) => api.auth.totp.enable.mutate({ code: opts.code })));
      out.result(enabled, () => `Two-factor authentication is on. Recovery codes (each works once; store them now):\n\n${enabled.recoveryCodes.map((c) => `  ${c}`).join("\n")}`);
    });

  totp
    .command("disable")
    .description("turn TOTP off (needs a current code, a recovery code, or your password on stdin)")
    .option("--code <code>", "a current code or a recovery code")
    .option("--password-stdin", "prove it with your password instead, read from standard input")
    .action(async (opts: { code?: string; passwordStdin?: boolean }, cmd: Command) => {
      const out = outputFor(cmd);
      if (!opts.code && !opts.passwordStdin) throw new AppError("CODEPIPER_BAD_INPUT", "pass --code <code> or --password-stdin");
      const password = opts.passwordStdin ? await readStdinSecret("the password") : undefined;
      const result = await withApi(cmd, (h) => call(h, (api) => api.auth.totp.disable.mutate({ code: opts.code, password })));
      out.result(result, () => "Two-factor authentication is off.");
    });

  totp
    .command("status", { isDefault: true })
    .description("show whether TOTP is on and how many recovery codes are left")
    .action(async (_opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const s = await withApi(cmd, (h) => call(h, (api) => api.auth.totp.status.query()));
      out.result(s, () => (s.enabled ? `TOTP on, ${s.recoveryCodesLeft} recovery codes left.` : s.pending ? "TOTP set up but not enabled yet: codepiper totp enable --code <code>." : "TOTP off."));
    });
}
