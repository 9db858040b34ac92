// Preload for profiling a child process of a benchmark (`node --cpu-prof` is not allowed in NODE_OPTIONS):
//   NODE_OPTIONS="--import /abs/path/tests/bench/cpu-profile-hook.mjs" CODEPIPER_BENCH_PROFILE_DIR=/tmp/prof …
// Samples the main thread from start to exit and writes <dir>/<pid>.cpuprofile (open it in Chrome DevTools).
import { Session } from "node:inspector";
import { mkdirSync, writeFileSync } from "node:fs";

const dir = process.env.CODEPIPER_BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 500 });
  session.post("Profiler.start");
  // The main-thread session answers synchronously, so this works inside the exit handler.
  process.on("exit", () => {
    session.post("Profiler.stop", (err, result) => {
      if (err) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/${process.pid}.cpuprofile`, JSON.stringify(result.profile));
    });
  });
}
