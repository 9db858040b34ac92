import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const CLI_ENTRY = fileURLToPath(new URL("../../../cli/bin/codepiper.js", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (fails the test with the output if it is not). */
  json<T = any>(): T;
  /** The `{error:{code,message}}` document printed on stderr with --json. */
  error(): { code: string; message: string } | null;
}

/** Environment every spawned codepiper process gets: no inherited CODEPIPER_* settings leak in. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("CODEPIPER_")) env[k] = v;
  env.CODEPIPER_LOG_LEVEL = process.env.CODEPIPER_TEST_LOG_LEVEL ?? "warn";
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/** Runs `codepiper <args>` as a real process and collects its output. */
export function runCli(args: string[], opts: { env?: Record<string, string | undefined>; stdin?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], { env: cleanEnv(opts.env), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`codepiper ${args.join(" ")} did not finish in ${opts.timeoutMs ?? 30_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({
        code: code ?? -1,
        stdout,
        stderr,
        json() {
          try {
            return JSON.parse(stdout);
          } catch {
            throw new Error(`codepiper ${args.join(" ")} did not print JSON (exit ${code})\nstdout: ${stdout}\nstderr: ${stderr}`);
          }
        },
        error() {
          const line = stderr.split("\n").find((l) => l.startsWith('{"error"'));
          return line ? (JSON.parse(line) as { error: { code: string; message: string } }).error : null;
        },
      });
    });
    child.stdin.end(opts.stdin ?? "");
  });
}
