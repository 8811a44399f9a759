import { defineProject } from "vitest/config";

// Checks of the repository's structure itself (no runtime, no network): fast, always run.
export default defineProject({
  test: { name: "repo", include: ["repo/**/*.test.ts"], environment: "node" },
});
