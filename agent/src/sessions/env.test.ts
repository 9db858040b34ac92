import { describe, expect, it } from "vitest";
import { AppError } from "@codepiper/core";
import { buildSessionEnv, ENV_LIMITS } from "./env.js";

const base = {
  PATH: "/usr/bin:/bin",
  HOME: "/home/dev",
  USER: "dev",
  SHELL: "/bin/bash",
  LANG: "C.UTF-8",
  LC_ALL: "C.UTF-8",
  XDG_RUNTIME_DIR: "/run/user/1000",
  AWS_SECRET_ACCESS_KEY: "agent-own-secret",
  CODEPIPER_TOKEN: "cpa_agent_token",
  ANTHROPIC_API_KEY: "sk-ant-from-agent",
  CLAUDECODE: "1",
  TERM: "screen",
};

describe("session environment", () => {
  it("starts from the allow-list only: the agent's own secrets never reach a session", () => {
    const env = buildSessionEnv({ base, billing: "subscription", provider: "claude-code" });
    expect(env).toEqual({
      PATH: "/usr/bin:/bin",
      HOME: "/home/dev",
      USER: "dev",
      SHELL: "/bin/bash",
      LANG: "C.UTF-8",
      LC_ALL: "C.UTF-8",
      XDG_RUNTIME_DIR: "/run/user/1000",
      TERM: "screen",
    });
  });

  it("layers env sets in order, then explicit variables", () => {
    const env = buildSessionEnv({
      base: { PATH: "/bin" },
      envSets: [{ A: "set1", B: "set1" }, { B: "set2", C: "set2" }],
      explicit: { C: "explicit", PATH: "/opt/bin:/bin" },
      billing: "api",
      provider: "codex",
    });
    expect(env).toMatchObject({ A: "set1", B: "set2", C: "explicit", PATH: "/opt/bin:/bin", TERM: "xterm-256color" });
  });

  it("subscription billing removes provider API keys even when an env set supplies them; api keeps them", () => {
    const envSets = [{ ANTHROPIC_API_KEY: "sk-ant-set", OPENAI_API_KEY: "sk-openai-set" }];
    const sub = buildSessionEnv({ base, envSets, billing: "subscription", provider: "claude-code" });
    expect(sub.ANTHROPIC_API_KEY).toBeUndefined();
    expect(sub.OPENAI_API_KEY).toBeUndefined();
    const api = buildSessionEnv({ base, envSets, billing: "api", provider: "claude-code" });
    expect(api.ANTHROPIC_API_KEY).toBe("sk-ant-set");
    expect(api.OPENAI_API_KEY).toBe("sk-openai-set");
  });

  it("always removes CLAUDECODE, wherever it comes from", () => {
    const env = buildSessionEnv({ base, envSets: [{ CLAUDECODE: "1" }], explicit: { CLAUDECODE: "1" }, billing: "api", provider: "claude-code" });
    expect(env.CLAUDECODE).toBeUndefined();
  });

  it.each([["1BAD"], ["has space"], ["a-b"], [""], ["x".repeat(ENV_LIMITS.nameMax + 1)]])("rejects the variable name %j without echoing values", (name) => {
    const secret = "value-that-must-not-leak";
    let caught: unknown;
    try {
      buildSessionEnv({ base: {}, explicit: { [name]: secret }, billing: "api", provider: "codex" });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect((caught as AppError).code).toBe("CODEPIPER_BAD_INPUT");
    expect((caught as AppError).message).not.toContain(secret);
  });

  it("rejects NUL bytes and oversized environments with a clear error that holds no value", () => {
    expect(() => buildSessionEnv({ base: {}, explicit: { K: "a\0b" }, billing: "api", provider: "codex" })).toThrow(/K contains a NUL byte/);
    const huge = "s".repeat(ENV_LIMITS.totalBytes);
    expect(() => buildSessionEnv({ base: {}, explicit: { BIG: huge }, billing: "api", provider: "codex" })).toThrow(/the limit is/);
    const many = Object.fromEntries(Array.from({ length: ENV_LIMITS.variables + 1 }, (_, i) => [`V${i}`, "1"]));
    expect(() => buildSessionEnv({ base: {}, explicit: many, billing: "api", provider: "codex" })).toThrow(/variables; the limit is/);
  });
});
