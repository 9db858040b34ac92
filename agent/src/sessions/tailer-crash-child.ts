/**
 * Test fixture for tailer.test.ts (not used by the agent): tails one transcript into an outbox
 * until it is killed, so the test can SIGKILL a real process at arbitrary instants.
 * argv: <outbox db> <transcript path> <provider> <session id>
 */
import type { TranscriptProvider } from "@codepiper/core";
import { createAgentLogger } from "../log.js";
import { Outbox } from "../outbox.js";
import { TranscriptTailer } from "./tailer.js";

const [dbPath, path, provider, sessionId] = process.argv.slice(2);
if (!dbPath || !path || !sessionId || (provider !== "claude-code" && provider !== "codex")) {
  process.stderr.write("usage: tailer-crash-child <db> <transcript> <claude-code|codex> <session id>\n");
  process.exit(2);
}
const outbox = new Outbox(dbPath);
const tailer = new TranscriptTailer({ sessionId, provider: provider satisfies TranscriptProvider, outbox, log: createAgentLogger({ level: "silent" }), path, pollMs: 5 });
tailer.start();
// Keep the process alive: the tailer's timer is unref'd so that it never holds the agent open.
setInterval(() => undefined, 1_000_000);
