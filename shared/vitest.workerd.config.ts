import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";

// The same tests again inside workerd: derived addresses must agree byte for byte with Node.
export default defineProject({
  plugins: [
    cloudflareTest({
      miniflare: { compatibilityDate: "2026-04-01", compatibilityFlags: ["nodejs_compat"] },
    }),
  ],
  test: { name: "shared:workerd", include: ["test/**/*.test.ts"] },
});
