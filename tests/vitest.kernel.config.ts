import { defineProject } from "vitest/config";

// Debian's own kernel under QEMU (kernel WireGuard, VXLAN, batman-adv): one guest for the whole
// suite, booted by the global setup; the files attach to it and run one at a time. Root, QEMU and
// the unpacked kernel are required: skipped locally without them, a failure in CI.
export default defineProject({
  test: {
    name: "kernel",
    include: ["kernel/**/*.test.ts"],
    environment: "node",
    globalSetup: ["support/global-setup.ts", "kernel/support/global-setup.ts"],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
