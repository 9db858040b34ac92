import { Option, type Command } from "commander";
import { AppError } from "@codepiper/core";
import { call } from "../client.js";
import { outputFor, withApi } from "../context.js";
import { table } from "../output.js";
import { readStdinSecret } from "../parse.js";

const ROLE_CHOICES = ["admin", "operator", "viewer"] as const;
type RoleChoice = (typeof ROLE_CHOICES)[number];

interface UserLine {
  id: string;
  email: string;
  role: string;
  disabled: boolean;
  totp: boolean;
  createdAt: string;
  tokens: number;
}

const describe = (u: UserLine) => `${u.email} (${u.role}${u.disabled ? ", disabled" : ""}${u.totp ? ", TOTP on" : ""})`;

export function registerUsers(program: Command): void {
  const users = program.command("users").description("manage users (admins only): list, create, update, delete");

  users
    .command("list", { isDefault: true })
    .description("list users")
    .action(async (_opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const list = await withApi(cmd, (h) => call(h, (api) => api.users.list.query()));
      out.result(list, () =>
        table([["EMAIL", "ROLE", "STATUS", "TOTP", "TOKENS", "CREATED", "ID"], ...list.map((u) => [u.email, u.role, u.disabled ? "disabled" : "active", u.totp ? "on" : "off", String(u.tokens), u.createdAt.slice(0, 10), u.id])]),
      );
    });

  users
    .command("create")
    .description("create a user; the password is read from standard input")
    .requiredOption("--email <email>", "the user's email")
    .addOption(new Option("--role <role>", "the user's role").choices(ROLE_CHOICES).default("viewer"))
    .option("--password-stdin", "read the password from standard input (required)")
    .action(async (opts: { email: string; role: RoleChoice; passwordStdin?: boolean }, cmd: Command) => {
      const out = outputFor(cmd);
      if (!opts.passwordStdin) throw new AppError("CODEPIPER_BAD_INPUT", "pass the password on standard input with --password-stdin");
      const password = await readStdinSecret("the password");
      const user = await withApi(cmd, (h) => call(h, (api) => api.users.create.mutate({ email: opts.email, role: opts.role, password })));
      out.result(user, () => `Created ${describe(user)}.`);
    });

  users
    .command("update")
    .description("change a user's role, disable or re-enable them, or reset their password")
    .argument("<user>", "email or id")
    .addOption(new Option("--role <role>", "new role").choices(ROLE_CHOICES))
    .option("--disable", "disable the user (their tokens stop working, their dashboard sessions end)")
    .option("--enable", "re-enable the user")
    .option("--password-stdin", "set a new password, read from standard input")
    .action(async (ref: string, opts: { role?: RoleChoice; disable?: boolean; enable?: boolean; passwordStdin?: boolean }, cmd: Command) => {
      const out = outputFor(cmd);
      if (opts.disable && opts.enable) throw new AppError("CODEPIPER_BAD_INPUT", "--disable and --enable exclude each other");
      if (!opts.role && !opts.disable && !opts.enable && !opts.passwordStdin) throw new AppError("CODEPIPER_BAD_INPUT", "nothing to change: pass --role, --disable, --enable or --password-stdin");
      const password = opts.passwordStdin ? await readStdinSecret("the password") : undefined;
      const disabled = opts.disable ? true : opts.enable ? false : undefined;
      const user = await withApi(cmd, (h) => call(h, (api) => api.users.update.mutate({ user: ref, role: opts.role, disabled, password })));
      out.result(user, () => `Updated ${describe(user)}.`);
    });

  users
    .command("delete")
    .description("delete a user and all their tokens (not yourself, not the last admin)")
    .argument("<user>", "email or id")
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const deleted = await withApi(cmd, (h) => call(h, (api) => api.users.delete.mutate({ user: ref })));
      out.result(deleted, () => `Deleted ${deleted.email}.`);
    });
}
