import vectors from "@wgkex-edge/shared/testing/parker-vectors.json" with { type: "json" };

// Test-only secrets, given to workerd by vitest.config.ts and used by the tests.
export const GATEWAY_TOKENS = { gw01: "token-gw01-secret", gw02: "token-gw02-secret", gw03: "token-gw03-secret" };
export const ADMIN_TOKEN = "admin-secret-token";
/** The facts' test key (parker-facts §5): its public half is parker.public_key in wrangler.test.toml. */
export const PARKER_SIGNING_KEY = vectors.key.signify_secret_key;
