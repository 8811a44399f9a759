import { defineProject } from "vitest/config";

// End to end: network namespaces with wireguard-go, kernel VXLAN, real agent processes and the
// edge process; nodes behave like the Gluon client. Root and the tools are required: skipped
// locally without them, a failure in CI. One world at a time (namespaces, CPU).
export default defineProject({
  test: {
    name: "e2e",
    include: ["e2e/**/*.test.ts"],
    environment: "node",
    globalSetup: ["support/global-setup.ts", "e2e/support/global-setup.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 90_000,
  },
});
