import type { Command } from "commander";
import { AppError } from "@codepiper/core";
import { call } from "../client.js";
import { createApi } from "../client.js";
import { configDir, removeCredentials, writeCredentials } from "../config.js";
import { globals, outputFor, withApi } from "../context.js";
import { parseUrl, readStdinSecret } from "../parse.js";

export function registerLogin(program: Command): void {
  program
    .command("login")
    .description("log in to a control plane and store an API token (0600) in the config dir")
    .argument("<url>", "control plane URL, e.g. http://127.0.0.1:7077")
    .option("--email <email>", "log in with email + password (password on stdin)")
    .option("--password-stdin", "read the password from standard input")
    .option("--token <api-token>", "store an existing API token instead (checked first)")
    .option("--token-stdin", "read the API token from standard input (keeps it out of argv)")
    .option("--totp <code>", "a TOTP or recovery code, if the account has two-factor on (or CODEPIPER_TOTP)")
    .action(async (rawUrl: string, opts: { email?: string; passwordStdin?: boolean; token?: string; tokenStdin?: boolean; totp?: string }, cmd: Command) => {
      const out = outputFor(cmd);
      const url = parseUrl(rawUrl);
      const dir = configDir(globals(cmd).configDir);
      let token = opts.token ?? (opts.tokenStdin ? await readStdinSecret("the API token") : undefined);
      let email: string | null = null;
      let role: string | null = null;
      if (!token) {
        if (!opts.email || !opts.passwordStdin) throw new AppError("CODEPIPER_BAD_INPUT", "use --email <e> --password-stdin, or --token <api-token>");
        const password = await readStdinSecret("the password");
        const anon = createApi({ url, token: null });
        const result = await call(anon, (api) => api.auth.login.mutate({ email: opts.email!, password, totp: opts.totp ?? (process.env.CODEPIPER_TOTP || undefined) }));
        token = result.token;
        email = result.user.email;
        role = result.user.role;
      } else {
        const checked = createApi({ url, token });
        const me = await call(checked, (api) => api.auth.whoami.query());
        email = me.email;
        role = me.role;
      }
      const path = writeCredentials(dir, { url, token, email, role });
      out.result({ url, email, role, credentials: path }, () => `Logged in to ${url} as ${email} (${role}). Token stored in ${path}.`);
    });

  program
    .command("logout")
    .description("revoke the stored API token on the control plane and forget it here")
    .action(async (_opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const answer = await withApi(cmd, (h) => call(h, (api) => api.auth.logout.mutate()));
      const removed = removeCredentials(configDir(globals(cmd).configDir));
      out.result({ ...answer, forgotten: removed }, () => `logged out (${answer.revoked} revoked${removed ? ", token removed from this machine" : ""})`);
    });

  program
    .command("whoami")
    .description("show who the stored token belongs to")
    .action(async (_opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const me = await withApi(cmd, (h) => call(h, (api) => api.auth.whoami.query()));
      out.result(me, () => `${me.email} (${me.role})`);
    });
}
