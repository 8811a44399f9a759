import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import { ADMIN_TOKEN, GATEWAY_TOKENS, PARKER_SIGNING_KEY } from "./test/secrets.ts";

// The edge in workerd, with the test-only wrangler config beside the tests.
export default defineProject({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./test/wrangler.test.toml" },
      miniflare: {
        bindings: { GATEWAY_TOKENS: JSON.stringify(GATEWAY_TOKENS), ADMIN_TOKEN, PARKER_SIGNING_KEY },
      },
    }),
  ],
  test: { name: "edge", include: ["test/**/*.test.ts"] },
});
