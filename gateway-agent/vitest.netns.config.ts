import { defineProject } from "vitest/config";

// Real kernel tests in network namespaces (wireguard-go, kernel VXLAN, ip, bridge). They skip
// locally without root or tools, and fail in CI (CI=true) when anything is missing.
export default defineProject({
  test: {
    name: "agent:netns",
    include: ["test-netns/**/*.test.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
