import { defineConfig } from "vitest/config";

// `npm test` runs every project: each workspace owns its vitest*.config.ts files, one per
// runtime or world (node, workerd, network namespaces).
export default defineConfig({
  test: {
    projects: [
      "shared/vitest*.config.ts",
      "edge/vitest*.config.ts",
      "gateway-agent/vitest*.config.ts",
      "tests/vitest*.config.ts",
    ],
  },
});
