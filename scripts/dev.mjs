#!/usr/bin/env node
// The one entry point behind the README's two commands (`npm run up`, `npm test`) and the other
// root scripts. It needs only Node 20 and npm: it installs the pinned pnpm into .tools/ (from the
// npm registry), installs the workspace, builds it, then runs what was asked.
//
//   node scripts/dev.mjs up [codepiper up flags…]   install, build, run a whole local fleet
//   node scripts/dev.mjs test [vitest filters…]     install, build, lint, typecheck, schema check, every test
//   node scripts/dev.mjs build                      install and build only
//   node scripts/dev.mjs bench                      install, build, run the benchmarks (tests/bench)
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const pnpmVersion = pkg.packageManager.replace(/^pnpm@/, "");
const tools = join(root, ".tools");
const pnpmBin = join(tools, "node_modules", "pnpm", "bin", "pnpm.cjs");

const env = { ...process.env, CHECKPOINT_DISABLE: "1", NEXT_TELEMETRY_DISABLED: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1" };
// Scripts run by pnpm may call `pnpm` themselves: put the pinned one on PATH.
env.PATH = [join(tools, "node_modules", ".bin"), env.PATH].join(":");
// Native addons (better-sqlite3) compile against the local Node headers; prebuilt downloads are
// not reachable from these machines, and pnpm ignores `nodedir` in .npmrc.
if (!env.npm_config_nodedir && existsSync("/usr/include/node/node.h")) env.npm_config_nodedir = "/usr";

function step(title) {
  process.stderr.write(`\n▶ ${title}\n`);
}

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env, ...opts });
  if (res.error) throw res.error;
  if (res.status !== 0) {
    process.stderr.write(`\n✖ ${[cmd, ...args].join(" ")} exited with ${res.status ?? res.signal}\n`);
    process.exit(res.status ?? 1);
  }
  return res;
}

function pnpm(args, opts) {
  return run(process.execPath, [pnpmBin, ...args], opts);
}

function ensurePnpm() {
  let installed = null;
  try {
    installed = JSON.parse(readFileSync(join(tools, "node_modules", "pnpm", "package.json"), "utf8")).version;
  } catch {
    installed = null;
  }
  if (installed === pnpmVersion) return;
  step(`installing pnpm ${pnpmVersion} into .tools/`);
  mkdirSync(tools, { recursive: true });
  run("npm", ["install", "--prefix", tools, "--no-save", "--no-audit", "--no-fund", "--loglevel=error", `pnpm@${pnpmVersion}`]);
}

function installAndBuild() {
  ensurePnpm();
  step("installing dependencies (pnpm install --frozen-lockfile)");
  pnpm(["install", "--frozen-lockfile", "--reporter=append-only"]);
  step("building (prisma generate + tsc -b)");
  pnpm(["run", "ws:build"]);
  step("building the dashboard (next build → web/out, served by codepiper server)");
  pnpm(["--filter", "@codepiper/web", "run", "build"]);
}

/**
 * The browser tests drive Debian's chromium (playwright-core downloads nothing). Installs it with
 * apt when it is missing and we may (root, or passwordless sudo); otherwise says what to do.
 */
function ensureChromium() {
  const browser = env.CODEPIPER_CHROMIUM ?? "/usr/bin/chromium";
  if (existsSync(browser)) return;
  step("installing Debian's chromium for the dashboard's browser tests (apt-get)");
  const asRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const sudo = asRoot ? [] : ["sudo", "-n"];
  const apt = (args) => spawnSync(sudo[0] ?? "apt-get", [...sudo.slice(1), ...(sudo.length ? ["apt-get"] : []), ...args], { stdio: "inherit", env: { ...env, DEBIAN_FRONTEND: "noninteractive" } }).status === 0;
  const install = ["install", "-y", "--no-install-recommends", "chromium"];
  if (apt(install) || (apt(["update"]) && apt(install))) return;
  process.stderr.write(`\n✖ chromium is missing and could not be installed: run \`sudo apt-get install chromium\` (or set CODEPIPER_CHROMIUM to a Chromium binary), then npm test again\n`);
  process.exit(1);
}

const [command = "help", ...rest] = process.argv.slice(2);
switch (command) {
  case "build":
    installAndBuild();
    break;
  case "up": {
    installAndBuild();
    step("starting a local fleet (codepiper up)");
    const res = spawnSync(process.execPath, [join(root, "cli", "bin", "codepiper.js"), "up", ...rest], { cwd: root, stdio: "inherit", env });
    process.exit(res.status ?? 1);
    break;
  }
  case "test": {
    ensureChromium();
    installAndBuild();
    step("lint (eslint, with import boundaries)");
    pnpm(["run", "ws:lint"]);
    step("typecheck (every package, tests included)");
    for (const p of ["core", "control-plane", "agent", "cli", "tests", "web"]) pnpm(["exec", "tsc", "-p", p]);
    step("schema and migrations agree (prisma, SQLite and PostgreSQL)");
    pnpm(["run", "prisma:check"]);
    step("tests (vitest: unit, multi-process integration, chaos, security)");
    pnpm(["exec", "node", "scripts/test-summary.mjs", ...rest]);
    break;
  }
  case "bench":
    installAndBuild();
    pnpm(["run", "bench:run", ...rest]);
    break;
  default:
    process.stderr.write("usage: node scripts/dev.mjs up|test|build|bench [args…]\n");
    process.exit(command === "help" ? 0 : 2);
}
