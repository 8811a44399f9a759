import { generateSignifyKeyPair } from "@wgkex-edge/shared/parker";
import { ParkerNode } from "@wgkex-edge/shared/testing/parker-node";
import vectors from "@wgkex-edge/shared/testing/parker-vectors.json" with { type: "json" };
import { describe, expect, it } from "vitest";
import type { LocalEdge } from "../../edge/local/serve.ts";
import { startEdge } from "../support/edge.ts";

/**
 * The Parker signing key as the deployed Worker sees it (workerd, wrangler's bundle): a key
 * that routers would reject is refused when the isolate first needs it, with one clear log
 * line and never the key, and no node is configured or allocated meanwhile.
 */
const parkerConfig = (over: Record<string, unknown> = {}) => ({
  domains: ["ffmuc_parker"],
  domain_prefixes: ["ffmuc_"],
  gateways: [{ name: "gw01", parker: { id: 1, endpoint4: "198.51.100.1" } }],
  parker: {
    domain: "ffmuc_parker",
    public_key: vectors.key.signify_public_key,
    ipv6: { pool: "2001:db8:100::/56", length: 64 },
    ipv4: { pool: "10.100.0.0/16", length: 24 },
    ...over,
  },
});

async function withEdge<T>(
  key: string,
  over: Record<string, unknown>,
  body: (edge: LocalEdge, logs: string[]) => Promise<T>,
): Promise<T> {
  const logs: string[] = [];
  const edge = await startEdge({ config: parkerConfig(over), parkerSigningKey: key, onLog: (l) => logs.push(l) });
  try {
    return await body(edge, logs);
  } finally {
    await edge.stop();
  }
}

const nodeAt = (edge: LocalEdge) =>
  new ParkerNode({
    flavour: "upstream",
    configServer: edge.url.host,
    configPubkey: vectors.key.signify_public_key,
    publicKey: "JbXXLRBd5VaAwlYN0v9OB79DY+9Mm51LvgXZaXf7EUU=",
    v6mtu: 1500,
  });

async function refused(edge: LocalEdge, logs: string[], message: RegExp): Promise<void> {
  const res = await fetch(new URL("/config?pubkey=JbXXLRBd5VaAwlYN0v9OB79DY%2B9Mm51LvgXZaXf7EUU=&nonce=ab", edge.url));
  expect(res.status).toBe(500);
  expect(await res.text()).toBe('{"error":{"message":"Internal signature error. Please try again later."}}\n');
  await expect.poll(() => logs.find((l) => l.includes("Parker signing key refused"))).toMatch(message);
  // A router gets a failed fetch (20 s, nothing changed), and nothing was allocated.
  expect(await nodeAt(edge).cycle()).toMatchObject({ kind: "failed", stage: "fetch", reason: "HTTP 500" });
  const status = (await (await fetch(new URL("/api/v1/status", edge.url))).json()) as {
    domains: Array<{ parker?: { used: number } }>;
  };
  expect(status.domains[0]!.parker!.used).toBe(0);
  expect(logs.join("\n")).not.toContain(vectors.key.signify_secret_key.slice(20, 60));
}

/**
 * Two bundles started, the two ways a key goes wrong in production; a missing or
 * passphrase-protected key and the right key are covered in workerd (shared and edge tests).
 */
describe("the Parker signing key at start-up", () => {
  it("refuses a key that is not the one routers pin", async () => {
    const other = await generateSignifyKeyPair();
    await withEdge(other.secretKey, {}, (edge, logs) => refused(edge, logs, /key number differs|does not belong/));
  });

  it("refuses an expired key", async () => {
    await withEdge(vectors.key.signify_secret_key, { key_not_after: "2026-01-01T00:00:00Z" }, (edge, logs) =>
      refused(edge, logs, /expired at 2026-01-01T00:00:00.000Z/),
    );
  });
});
