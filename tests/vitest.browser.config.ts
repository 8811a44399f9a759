import { defineProject } from "vitest/config";

// The status page in headless Debian chromium (playwright-core, no downloaded browser).
export default defineProject({
  test: {
    name: "browser",
    include: ["browser/**/*.test.ts"],
    environment: "node",
    globalSetup: ["support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
