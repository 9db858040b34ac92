import { Command, CommanderError } from "commander";
import { AppError } from "@codepiper/core";
import { registerAdmin } from "./commands/admin.js";
import { registerAgent } from "./commands/agent.js";
import { registerApprovals } from "./commands/approvals.js";
import { registerAnalytics } from "./commands/analytics.js";
import { registerAudit } from "./commands/audit.js";
import { registerEnvSets } from "./commands/envsets.js";
import { registerEvents } from "./commands/events.js";
import { registerHosts } from "./commands/hosts.js";
import { registerInput } from "./commands/input.js";
import { registerLogs } from "./commands/logs.js";
import { registerLogin } from "./commands/login.js";
import { registerPolicy, registerPolicySet } from "./commands/policy.js";
import { registerServer } from "./commands/server.js";
import { registerSessions } from "./commands/sessions.js";
import { registerTerminal } from "./commands/terminal.js";
import { registerTokens } from "./commands/tokens.js";
import { registerTotp } from "./commands/totp.js";
import { registerUsers } from "./commands/users.js";
import { registerUp } from "./commands/up.js";
import { registerWorkspaces } from "./commands/workspaces.js";
import { EXIT, EXIT_CODES_HELP, exitCodeOf } from "./exit-codes.js";
import { printError } from "./output.js";

export function buildProgram(): Command {
  const program = new Command("codepiper")
    .description("CodePiper Fleet: run AI coding agents on many machines, control them from one place")
    .version("0.1.0")
    .option("--json", "machine-readable output (errors as JSON on stderr)")
    .option("--url <url>", "control plane URL (CODEPIPER_URL; default: the one you logged in to)")
    .option("--config-dir <dir>", "where credentials are kept (CODEPIPER_CONFIG_DIR; default ~/.config/codepiper)")
    .addHelpText("after", EXIT_CODES_HELP)
    .showHelpAfterError()
    .exitOverride();
  for (const register of [registerUp, registerServer, registerAdmin, registerLogin, registerHosts, registerEvents, registerAgent, registerSessions, registerInput, registerTerminal, registerLogs, registerPolicy, registerPolicySet, registerApprovals, registerAudit, registerAnalytics, registerUsers, registerTokens, registerTotp, registerWorkspaces, registerEnvSets]) register(program);
  program.commands.forEach(function applyExitOverride(c: Command) {
    c.exitOverride();
    c.commands.forEach(applyExitOverride);
  });
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  // hook-forward parses its own argv (the notify payload is a bare last argument) and is loaded lazily.
  if (argv[2] === "hook-forward") return (await import("./hook-forward.cjs")).default.main(argv.slice(3), process.env, process.stdin, process.stdout, process.stderr);
  const program = buildProgram();
  const json = argv.includes("--json");
  if (json) {
    // With --json, stderr carries exactly one {error:{code,message}} document: commander's own
    // "error: …" line and the help it prints after a usage error would make it unparseable.
    (function quiet(c: Command) {
      c.configureOutput({ outputError: () => undefined }).showHelpAfterError(false);
      c.commands.forEach(quiet);
    })(program);
  }
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return EXIT.ok;
      if (json) printError(new AppError("CODEPIPER_BAD_INPUT", err.message.replace(/^error: /, "")), true);
      return EXIT.usage;
    }
    const appErr = err instanceof AppError ? err : new AppError("CODEPIPER_INTERNAL", err instanceof Error ? err.message : String(err));
    printError(appErr, json);
    return exitCodeOf(appErr.code);
  }
}
