import { Argument, type Command } from "commander";
import { AppError } from "@codepiper/core";
import { call } from "../client.js";
import { outputFor, withApi } from "../context.js";
import { table } from "../output.js";
import { parseDescription, parsePolicyName, parsePriority, parseRef, parseRulesFlag, parseScope, parseTool, parseToolArgs, ruleLabel, ruleSummary } from "../policy-input.js";

const collect = (value: string, previous: string[]) => [...previous, value];

interface PolicyViewLike {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
  priority: number;
  scope: string;
  sessionId: string | null;
  sets: string[];
  rules: unknown[];
  updatedAt: string;
}

function scopeLabel(p: PolicyViewLike): string {
  return p.scope === "session" && p.sessionId ? `session:${p.sessionId.slice(0, 8)}` : p.scope;
}

function describePolicy(p: PolicyViewLike): string {
  return [
    `${p.name}  (${p.id})`,
    `  ${p.enabled ? "enabled" : "DISABLED"}, priority ${p.priority}, scope ${scopeLabel(p)}${p.scope === "set" ? `, in sets: ${p.sets.join(", ") || "(none: applies nowhere yet; codepiper policy-set add <set> " + p.name + ")"}` : ""}`,
    p.description ? `  ${p.description}` : null,
    `  rules (first match wins):`,
    ...p.rules.map((r, i) => `    [${i}] ${ruleSummary(r)}`),
  ]
    .filter((l) => l !== null)
    .join("\n");
}

const RULES_HELP = `
Rules are a JSON array, evaluated in order; the first matching rule decides:
  [{"action":"deny","tool":"Bash","args":{"command":"rm -rf *"},"reason":"no rm -rf"},
   {"action":"allow","tool":["Read","Grep","Glob"]},
   {"action":"ask","tool":"Bash"}]
Fields: action (allow|deny|ask), tool, args.<name>, cwd: globs (* ? [a-z] {a,b}, leading ! negates) or
lists of globs; reason: shown to the agent/approver. --rules @file.json reads a local file (≤ 256 KiB).
Scopes: global (every session), set (sessions started with a policy set containing it), session:<id>.`;

interface PolicyFlags {
  name?: string;
  description?: string;
  priority?: string;
  disabled?: boolean;
  enabled?: boolean;
  scope?: string;
  rules?: string;
}

export function registerPolicy(program: Command): void {
  const policy = program.command("policy").description("permission policies: what agents may do (allow), may not (deny), or must ask a human about (ask)");

  policy
    .command("list", { isDefault: true })
    .description("list policies, highest priority first, with the default action")
    .allowExcessArguments(true)
    .action(async (_opts: unknown, cmd: Command) => {
      if (cmd.args.length > 0) {
        const known = (cmd.parent?.commands ?? []).map((c) => c.name()).filter((n) => n !== "help").join(", ");
        throw new AppError("CODEPIPER_BAD_INPUT", `unknown command 'policy ${cmd.args[0]}' (policy commands: ${known})`);
      }
      const out = outputFor(cmd);
      const res = await withApi(cmd, (h) => call(h, (api) => api.policies.list.query()));
      out.result(res, () =>
        [
          `default action (no rule matched): ${res.defaultAction}   policy version ${res.version}`,
          res.policies.length === 0
            ? "No policies: codepiper policy create --name <n> --rules '[{\"action\":\"allow\",\"tool\":\"Read\"}]'"
            : table([
                ["NAME", "PRIORITY", "ENABLED", "SCOPE", "SETS", "RULES", "DESCRIPTION"],
                ...res.policies.map((p) => [p.name, String(p.priority), p.enabled ? "yes" : "no", scopeLabel(p), p.sets.join(",") || "-", String(p.rules.length), p.description.split("\n")[0]!.slice(0, 50) || "-"]),
              ]),
        ].join("\n"),
      );
    });

  policy
    .command("get")
    .description("show one policy with its rules")
    .argument("<policy>", "policy name or id")
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const p = await withApi(cmd, (h) => call(h, (api) => api.policies.get.query({ policy: parseRef(ref, "policy") })));
      out.result(p, () => describePolicy(p));
    });

  policy
    .command("create")
    .description("create a policy (admin)")
    .requiredOption("--name <name>", "letters, digits, '.', '_' and '-'")
    .requiredOption("--rules <json|@file>", "the rules: a JSON array, or @file.json / @file.yaml")
    .option("--priority <n>", "higher is evaluated first (default 0)")
    .option("--description <text>", "what it is for")
    .option("--disabled", "create it disabled")
    .option("--scope <scope>", "global | set | session:<id>", "global")
    .addHelpText("after", RULES_HELP)
    .action(async (opts: PolicyFlags, cmd: Command) => {
      const out = outputFor(cmd);
      const input = {
        name: parsePolicyName(opts.name ?? ""),
        rules: parseRulesFlag(opts.rules ?? ""),
        priority: opts.priority === undefined ? undefined : parsePriority(opts.priority),
        description: opts.description === undefined ? undefined : parseDescription(opts.description),
        enabled: !opts.disabled,
        scope: parseScope(opts.scope ?? "global"),
      };
      const p = await withApi(cmd, (h) => call(h, (api) => api.policies.create.mutate(input)));
      out.result(p, () => `created policy ${p.name} (${p.id}): ${p.rules.length} rule${p.rules.length === 1 ? "" : "s"}, priority ${p.priority}, scope ${scopeLabel(p)}${p.enabled ? "" : ", disabled"}`);
    });

  policy
    .command("update")
    .description("change a policy (admin); only the flags given change")
    .argument("<policy>", "policy name or id")
    .option("--name <name>", "rename it")
    .option("--rules <json|@file>", "replace all its rules (JSON array, @file.json or @file.yaml)")
    .option("--priority <n>", "higher is evaluated first")
    .option("--description <text>", "what it is for")
    .option("--disabled", "disable it")
    .option("--enabled", "enable it")
    .option("--scope <scope>", "not changeable: delete and re-create the policy")
    .addHelpText("after", RULES_HELP)
    .action(async (ref: string, opts: PolicyFlags, cmd: Command) => {
      const out = outputFor(cmd);
      if (opts.scope !== undefined) throw new AppError("CODEPIPER_BAD_INPUT", "--scope cannot be changed by update: delete the policy and create it again with the new --scope");
      if (opts.disabled && opts.enabled) throw new AppError("CODEPIPER_BAD_INPUT", "--enabled and --disabled contradict each other");
      const input = {
        policy: parseRef(ref, "policy"),
        name: opts.name === undefined ? undefined : parsePolicyName(opts.name),
        rules: opts.rules === undefined ? undefined : parseRulesFlag(opts.rules),
        priority: opts.priority === undefined ? undefined : parsePriority(opts.priority),
        description: opts.description === undefined ? undefined : parseDescription(opts.description),
        enabled: opts.enabled ? true : opts.disabled ? false : undefined,
      };
      if (Object.entries(input).every(([k, v]) => k === "policy" || v === undefined)) throw new AppError("CODEPIPER_BAD_INPUT", "nothing to change: give at least one of --name, --rules, --priority, --description, --enabled, --disabled");
      const p = await withApi(cmd, (h) => call(h, (api) => api.policies.update.mutate(input)));
      out.result(p, () => `updated policy ${p.name}\n${describePolicy(p)}`);
    });

  for (const [verb, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const) {
    policy
      .command(verb)
      .description(`${verb} a policy (admin)`)
      .argument("<policy>", "policy name or id")
      .action(async (ref: string, _opts: unknown, cmd: Command) => {
        const out = outputFor(cmd);
        const p = await withApi(cmd, (h) => call(h, (api) => api.policies.update.mutate({ policy: parseRef(ref, "policy"), enabled })));
        out.result(p, () => `policy ${p.name} is now ${p.enabled ? "enabled" : "disabled"}`);
      });
  }

  policy
    .command("delete")
    .description("delete a policy (admin)")
    .argument("<policy>", "policy name or id")
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const res = await withApi(cmd, (h) => call(h, (api) => api.policies.delete.mutate({ policy: parseRef(ref, "policy") })));
      out.result(res, () => `deleted policy ${res.name} (${res.id})`);
    });

  policy
    .command("default")
    .description("what happens when no rule matches: ask a human, or deny (admin); never allow")
    .addArgument(new Argument("<action>", "ask or deny").choices(["ask", "deny"]))
    .action(async (action: "ask" | "deny", _opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const res = await withApi(cmd, (h) => call(h, (api) => api.policies.setDefault.mutate({ action })));
      out.result(res, () => `default action is now ${res.defaultAction}`);
    });

  policy
    .command("test")
    .description("what would be decided for a tool call, and by which rule (exit 0 whatever the decision)")
    .option("--session <id>", "decide as for this session (its sets, cwd and session policies)")
    .option("--policy-set <set>", "decide as for a session started with this policy set")
    .requiredOption("--tool <tool>", "tool name, e.g. Bash, Edit, Write, terminal_input")
    .option("--arg <key=value>", "a tool argument; the value is a string (split at the first '='); repeatable", collect, [])
    .option("--arg-json <key=json>", "a tool argument whose value is JSON (number, boolean, object); repeatable", collect, [])
    .option("--cwd <dir>", "the working directory (default: the session's)")
    .addHelpText("after", "\nExamples:\n  codepiper policy test --session 3f2a --tool Bash --arg command='rm -rf /'\n  codepiper policy test --policy-set ci --tool Write --arg file_path=/etc/passwd --cwd /src")
    .action(async (opts: { session?: string; policySet?: string; tool: string; arg: string[]; argJson: string[]; cwd?: string }, cmd: Command) => {
      const out = outputFor(cmd);
      if (opts.session !== undefined && opts.policySet !== undefined) throw new AppError("CODEPIPER_BAD_INPUT", "give --session or --policy-set, not both (a session already has its sets)");
      if (opts.session === undefined && opts.policySet === undefined) throw new AppError("CODEPIPER_BAD_INPUT", "give --session <id> (decide as for that session) or --policy-set <set> (as for a new session with that set)");
      if (opts.cwd !== undefined && (opts.cwd.length === 0 || opts.cwd.length > 4096)) throw new AppError("CODEPIPER_BAD_INPUT", "--cwd must be 1–4096 characters");
      const input = {
        session: opts.session === undefined ? undefined : parseRef(opts.session, "--session"),
        policySet: opts.policySet === undefined ? undefined : parseRef(opts.policySet, "--policy-set"),
        tool: parseTool(opts.tool),
        args: parseToolArgs(opts.arg, opts.argJson),
        cwd: opts.cwd,
      };
      const res = await withApi(cmd, (h) => call(h, (api) => api.policies.test.query(input)));
      out.result(res, () =>
        [
          `${res.action}  (${res.evaluated} polic${res.evaluated === 1 ? "y" : "ies"} evaluated)`,
          res.policyName === null ? "  decided by: the default action (no rule matched)" : `  decided by: policy ${res.policyName}, rule ${ruleLabel(res.policyName, res.ruleIndex)} (index from 0)`,
          res.rule === null ? null : `  rule: ${ruleSummary(res.rule)}`,
          res.reason ? `  reason: ${res.reason}` : null,
        ]
          .filter((l) => l !== null)
          .join("\n"),
      );
    });
}

interface SetViewLike {
  id: string;
  name: string;
  description: string;
  isDefault: boolean;
  policies: string[];
}

function describeSet(s: SetViewLike): string {
  return [`${s.name}${s.isDefault ? " (default for new sessions)" : ""}  (${s.id})`, s.description ? `  ${s.description}` : null, `  policies: ${s.policies.join(", ") || "(none)"}`].filter((l) => l !== null).join("\n");
}

export function registerPolicySet(program: Command): void {
  const sets = program.command("policy-set").description("named groups of policies that sessions start with (codepiper start --policy-set <s>)");

  sets
    .command("list", { isDefault: true })
    .description("list policy sets and their policies")
    .allowExcessArguments(true)
    .action(async (_opts: unknown, cmd: Command) => {
      if (cmd.args.length > 0) {
        const known = (cmd.parent?.commands ?? []).map((c) => c.name()).filter((n) => n !== "help").join(", ");
        throw new AppError("CODEPIPER_BAD_INPUT", `unknown command 'policy-set ${cmd.args[0]}' (policy-set commands: ${known})`);
      }
      const out = outputFor(cmd);
      const list = await withApi(cmd, (h) => call(h, (api) => api.policySets.list.query()));
      out.result(list, () =>
        list.length === 0
          ? "No policy sets: codepiper policy-set create --name <n> --policy <p>"
          : table([["NAME", "DEFAULT", "POLICIES", "DESCRIPTION"], ...list.map((s) => [s.name, s.isDefault ? "yes" : "-", s.policies.join(",") || "-", s.description.split("\n")[0]!.slice(0, 50) || "-"])]),
      );
    });

  sets
    .command("get")
    .description("show one policy set")
    .argument("<set>", "set name or id")
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const s = await withApi(cmd, (h) => call(h, (api) => api.policySets.get.query({ set: parseRef(ref, "set") })));
      out.result(s, () => describeSet(s));
    });

  sets
    .command("create")
    .description("create a policy set (admin)")
    .requiredOption("--name <name>", "letters, digits, '.', '_' and '-'")
    .option("--description <text>", "what it is for")
    .option("--policy <policy>", "a policy to put in it (name or id); repeatable", collect, [])
    .action(async (opts: { name: string; description?: string; policy: string[] }, cmd: Command) => {
      const out = outputFor(cmd);
      const input = {
        name: parsePolicyName(opts.name),
        description: opts.description === undefined ? undefined : parseDescription(opts.description),
        policies: opts.policy.map((p) => parseRef(p, "--policy")),
      };
      const res = await withApi(cmd, (h) => call(h, (api) => api.policySets.create.mutate(input)));
      out.result(res, () => `created policy set ${res.name} (${res.id})${input.policies.length ? ` with ${input.policies.join(", ")}` : ""}`);
    });

  sets
    .command("update")
    .description("rename a policy set or change its description (admin)")
    .argument("<set>", "set name or id")
    .option("--name <name>", "new name")
    .option("--description <text>", "new description")
    .action(async (ref: string, opts: { name?: string; description?: string }, cmd: Command) => {
      const out = outputFor(cmd);
      if (opts.name === undefined && opts.description === undefined) throw new AppError("CODEPIPER_BAD_INPUT", "nothing to change: give --name and/or --description (members: policy-set add/remove)");
      const input = { set: parseRef(ref, "set"), name: opts.name === undefined ? undefined : parsePolicyName(opts.name), description: opts.description === undefined ? undefined : parseDescription(opts.description) };
      const res = await withApi(cmd, (h) => call(h, (api) => api.policySets.update.mutate(input)));
      out.result(res, () => `updated policy set ${res.name} (${res.id})`);
    });

  sets
    .command("delete")
    .description("delete a policy set (admin); its policies stay")
    .argument("<set>", "set name or id")
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const out = outputFor(cmd);
      const res = await withApi(cmd, (h) => call(h, (api) => api.policySets.delete.mutate({ set: parseRef(ref, "set") })));
      out.result(res, () => `deleted policy set ${res.name} (${res.id})`);
    });

  for (const [verb, about] of [
    ["add", "put policies in a set (admin); a policy applies through a set only if its scope is set or global"],
    ["remove", "take policies out of a set (admin)"],
  ] as const) {
    sets
      .command(verb)
      .description(about)
      .argument("<set>", "set name or id")
      .argument("<policies...>", "policy names or ids")
      .action(async (ref: string, policies: string[], _opts: unknown, cmd: Command) => {
        const out = outputFor(cmd);
        const list = policies.map((p) => parseRef(p, "policy"));
        const input = { set: parseRef(ref, "set"), add: verb === "add" ? list : [], remove: verb === "remove" ? list : [] };
        const s = await withApi(cmd, (h) => call(h, (api) => api.policySets.members.mutate(input)));
        out.result(s, () => describeSet(s));
      });
  }

  sets
    .command("default")
    .description("the set new sessions get when started without --policy-set (admin); --none: no default")
    .argument("[set]", "set name or id")
    .option("--none", "no default set")
    .action(async (ref: string | undefined, opts: { none?: boolean }, cmd: Command) => {
      const out = outputFor(cmd);
      if (ref !== undefined && opts.none) throw new AppError("CODEPIPER_BAD_INPUT", "give a set or --none, not both");
      if (ref === undefined && !opts.none) throw new AppError("CODEPIPER_BAD_INPUT", "give the set to make the default, or --none to have no default set");
      const set = ref === undefined ? null : parseRef(ref, "set");
      const res = await withApi(cmd, (h) => call(h, (api) => api.policySets.setDefault.mutate({ set })));
      out.result(res, () => (res.default === null ? "no default policy set: new sessions start with only the sets given by --policy-set" : `${res.default} is now the default policy set for new sessions`));
    });
}
