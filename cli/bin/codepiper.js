#!/usr/bin/env node
import { main } from "../dist/main.js";

// Exit explicitly once the command is done: long-lived clients (WebSocket reconnect timers) must
// not keep a finished command alive. stdout/stderr writes to files and pipes are synchronous here.
main(process.argv).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`codepiper: unexpected failure: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
