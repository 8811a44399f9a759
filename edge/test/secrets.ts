// Test-only secrets, given to workerd by vitest.config.ts and used by the tests.
export const GATEWAY_TOKENS = { gw01: "token-gw01-secret", gw02: "token-gw02-secret", gw03: "token-gw03-secret" };
export const ADMIN_TOKEN = "admin-secret-token";
