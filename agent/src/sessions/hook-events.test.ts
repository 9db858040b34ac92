import { describe, expect, it } from "vitest";
import { branchNameSchema } from "@codepiper/core";
import { fitPayload } from "./fit.js";
import { hookEventType, stateForHook } from "./hook-events.js";

describe("hook → state", () => {
  it.each([
    ["UserPromptSubmit", {}, "running"],
    ["PreToolUse", {}, "running"],
    ["PermissionRequest", {}, "needs_permission"],
    ["Notification", { notification_type: "permission_prompt" }, "needs_permission"],
    ["Notification", { notification_type: "idle_prompt" }, "needs_input"],
    ["Notification", { notification_type: "auth_success" }, null],
    ["Stop", {}, "idle"],
    ["notify", { type: "agent-turn-complete" }, "idle"],
    ["SessionStart", {}, null],
    ["SessionEnd", {}, null],
  ])("%s %j → %s", (event, payload, state) => {
    expect(stateForHook(event, payload)).toBe(state);
  });

  it("names event types in dotted lower case", () => {
    expect(hookEventType("PreToolUse")).toBe("hook.pre_tool_use");
    expect(hookEventType("notify")).toBe("hook.notify");
    expect(hookEventType("")).toBe("hook.unknown");
  });

  it("fits a huge payload under the limit without dropping it", () => {
    const out = fitPayload({ tool_input: { command: "x".repeat(500_000) }, tool_name: "Bash" }, 60_000);
    expect(Buffer.byteLength(JSON.stringify(out))).toBeLessThanOrEqual(60_000);
    expect(out.truncated).toBe(true);
    expect(out.tool_name).toBe("Bash");
  });
});

describe("branch names", () => {
  it.each(["-x", "a..b", "has space", "x~1", "a:b", "ends/", "/starts", "a//b", ".hidden", "x.lock", "@", "a@{b", "tab\tin"])("rejects %j", (b) => {
    expect(branchNameSchema.safeParse(b).success).toBe(false);
  });
  it.each(["feature/x", "fix-123", "user/name/topic", "v1.2"])("accepts %j", (b) => {
    expect(branchNameSchema.safeParse(b).success).toBe(true);
  });
});
