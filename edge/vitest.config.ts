import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";

export const GATEWAY_TOKENS = { gw01: "token-gw01-secret", gw02: "token-gw02-secret", gw03: "token-gw03-secret" };
export const ADMIN_TOKEN = "admin-secret-token";

// The edge in workerd, with the test-only wrangler config beside the tests.
export default defineProject({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./test/wrangler.test.toml" },
      miniflare: {
        bindings: { GATEWAY_TOKENS: JSON.stringify(GATEWAY_TOKENS), ADMIN_TOKEN },
      },
    }),
  ],
  test: { name: "edge", include: ["test/**/*.test.ts"] },
});
