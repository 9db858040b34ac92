// Lint rules that carry the architecture (DESIGN.md §1, STYLE.md "Habits"): import boundaries
// between components, type-only access to the control plane's AppRouter, no console in packages,
// and the type-aware rules that catch lost promises and non-exhaustive switches.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const ours = (name) => [`@codepiper/${name}`, `@codepiper/${name}/*`];

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "control-plane/src/db/generated/**", "**/*.js", "**/*.mjs", "prisma/**", "test-artifacts/**", "web/.next/**", "web/out/**", "web/next-env.d.ts", "tests/bench/results/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts", "**/*.cts", "**/*.tsx"],
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ["vitest.config.ts"] }, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
      "no-console": "error",
    },
  },
  {
    // core is pure: it imports nothing of ours and does no I/O.
    files: ["core/src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{ group: ["@codepiper/*"], message: "core imports nothing of ours" }],
        paths: ["node:fs", "node:fs/promises", "node:child_process", "node:net", "node:http", "node:https", "fs", "child_process", "net", "http"].map((name) => ({ name, message: "core is pure: no I/O" })),
      }],
    },
  },
  {
    // The agent never imports control-plane code; the AppRouter *type* is allowed.
    files: ["agent/src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [
          { group: ours("control-plane"), message: "the agent may only import types from the control plane", allowTypeImports: true },
          { group: [...ours("cli"), ...ours("web")], message: "the agent depends on core only" },
        ],
      }],
    },
  },
  {
    files: ["control-plane/src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{ group: [...ours("agent"), ...ours("cli"), ...ours("web")], message: "the control plane depends on core only" }],
      }],
    },
  },
  {
    // The dashboard runs in the browser: it talks to the control plane only over tRPC (the AppRouter
    // *type* and the view types), and may use core's pure schemas; nothing server-side.
    files: ["web/src/**/*.ts", "web/src/**/*.tsx"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [
          { group: ours("control-plane"), message: "the dashboard may only import types from the control plane", allowTypeImports: true },
          { group: [...ours("agent"), ...ours("cli")], message: "the dashboard talks to the control plane over tRPC only" },
          { group: ["node:*"], message: "the dashboard runs in the browser" },
        ],
      }],
    },
  },
  {
    // Tests and benchmarks talk to people and use loose JSON: console and `any` are fine there.
    files: ["tests/**/*.ts", "**/*.test.ts"],
    rules: { "no-console": "off", "@typescript-eslint/no-explicit-any": "off" },
  },
);
