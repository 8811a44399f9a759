import { defineProject } from "vitest/config";

// Integration: the real edge in workerd (local process via Miniflare) and real sockets.
export default defineProject({
  test: {
    name: "integration",
    include: ["integration/**/*.test.ts"],
    environment: "node",
    globalSetup: ["support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
