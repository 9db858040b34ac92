import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/src/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    // Some suites start real servers (PostgreSQL, tmux): give them room, but keep failures bounded.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
