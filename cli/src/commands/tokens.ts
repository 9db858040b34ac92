import { Option, type Command } from "commander";
import { call } from "../client.js";
import { outputFor, withApi } from "../context.js";
import { table } from "../output.js";
import { parseDuration } from "../parse.js";

const ROLE_CHOICES = ["admin", "operator", "viewer"] as const;

export function registerTokens(program: Command): void {
  const tokens = program.command("tokens").description("API tokens for scripts and other machines: create, list, revoke");

  tokens
    .command("create")
    .description("create an API token (its secret is shown once; use it as CODEPIPER_TOKEN or with codepiper login --token-stdin)")
    .requiredOption("--name <name>", "what the token is for, e.g. ci-nightly")
    .addOption(new Option("--role <role>", "the token's role, at most your own (default: your role)").choices(ROLE_CHOICES))
    .option("--ttl <duration>", "how long it stays valid (e.g. 12h, 30d; at most 3650d)", "90d")
    .action(async (opts: { name: string; role?: (typeof ROLE_CHOICES)[number]; ttl: string }, cmd: Command) => {
      const out = outputFor(cmd);
      const ttlMs = parseDuration(opts.ttl, "--ttl");
      const created = await withApi(cmd, (h) => call(h, (api) => api.tokens.create.mutate({ name: opts.name, role: opts.role, ttlMs })));
      out.result(created, () => `${created.token}\n\nToken ${created.name} (${created.role}, id ${created.id}) expires ${created.expiresAt}. It is shown only now: store it.`);
    });

  tokens
    .command("list", { isDefault: true })
    .description("list your API tokens (never their secrets)")
    .option("--all", "everyone's tokens (admins only)")
    .option("--inactive", "include expired and revoked tokens")
    .action(async (opts: { all?: boolean; inactive?: boolean }, cmd: Command) => {
      const out = outputFor(cmd);
      const list = await withApi(cmd, (h) => call(h, (api) => api.tokens.list.query({ all: Boolean(opts.all), includeInactive: Boolean(opts.inactive) })));
      out.result(list, () =>
        list.length === 0
          ? "No tokens."
          : table([["ID", "NAME", "ROLE", "USER", "STATUS", "EXPIRES", ""], ...list.map((t) => [t.id, t.name, t.role, t.user, t.status, t.expiresAt?.slice(0, 16) ?? "never", t.current ? "(this one)" : ""])]),
      );
    });

  tokens
    .command("revoke")
    .description("revoke one of your tokens (admins: anyone's); it stops working at once")
    .argument("<id>", "token id (from tokens list)")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const revoked = await withApi(cmd, (h) => call(h, (api) => api.tokens.revoke.mutate({ id })));
      out.result(revoked, () => `Revoked token ${revoked.name} (${revoked.id}).`);
    });
}
