import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type LocalEdge, type LocalEdgeOptions, startLocalEdge } from "../../edge/local/serve.ts";

export const TEST_TOKENS = { gw01: "itest-token-gw01", gw02: "itest-token-gw02" };
export const TEST_ADMIN_TOKEN = "itest-admin-token";

export const tempDir = (prefix: string): string => mkdtempSync(path.join(tmpdir(), `wgkex-${prefix}-`));

/** A real edge in workerd on a loopback port, with the repository's default domains. */
export function startEdge(options: LocalEdgeOptions = {}): Promise<LocalEdge> {
  return startLocalEdge({ gatewayTokens: TEST_TOKENS, adminToken: TEST_ADMIN_TOKEN, nodeLimit: false, ...options });
}

/** The Gluon client's request: busybox wget's form content type and exact body text. */
export function registerKey(base: URL, domain: string, key: string, version: 1 | 2 = 1): Promise<Response> {
  return fetch(new URL(`/api/v${version}/wg/key/exchange`, base), {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: `{"domain": "${domain}","public_key": "${key}"}`,
  });
}

export function randomKey(): string {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return Buffer.from(bytes).toString("base64");
}
