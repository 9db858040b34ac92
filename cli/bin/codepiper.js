#!/usr/bin/env node
import { exitWhenFlushed } from "../dist/exit.js";
import { main } from "../dist/main.js";

// Exit explicitly once the command is done: long-lived clients (WebSocket reconnect timers) must
// not keep a finished command alive. Writes to pipes are asynchronous, so the exit waits until
// stdout and stderr are flushed (a large `--json` document would otherwise be cut short).
main(process.argv).then(
  (code) => exitWhenFlushed(code),
  (err) => {
    process.stderr.write(`codepiper: unexpected failure: ${err?.stack ?? err}\n`);
    exitWhenFlushed(1);
  },
);
