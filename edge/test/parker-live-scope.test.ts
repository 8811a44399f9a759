import { exports } from "cloudflare:workers";
import { ParkerNode } from "@wgkex-edge/shared/testing/parker-node";
import vectors from "@wgkex-edge/shared/testing/parker-vectors.json" with { type: "json" };
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminFetch,
  connectGateway,
  fetchEdge,
  freshKey,
  GATEWAY_KEYS,
  type GatewayClient,
  receiptOf,
} from "./helpers.ts";

// Issue 12, section 2: a gateway's live report counts only for keys it should have. In the
// Parker domain a live report also confirms allocations (docs/parker.md): a key that left
// the desired set (denied here) is confirmed by no concentrator.

const DOMAIN = "ffmuc_parker";

async function allocate(ip: string): Promise<string> {
  const key = freshKey();
  const node = new ParkerNode({
    flavour: "upstream",
    configServer: "config.test",
    configPubkey: vectors.key.signify_public_key,
    publicKey: key,
    v6mtu: 1500,
    fetch: async (url) => {
      const res = await exports.default.fetch(url, { headers: { "CF-Connecting-IP": ip } });
      return { status: res.status, body: await res.text() };
    },
  });
  expect((await node.cycle()).kind).toBe("applied");
  return key;
}

async function unconfirmed(): Promise<number> {
  const status = await (await fetchEdge("/api/v1/status")).json<{
    domains: Array<{ domain: string; parker?: { unconfirmed: number } }>;
  }>();
  return status.domains.find((d) => d.domain === DOMAIN)!.parker!.unconfirmed;
}

const gws: GatewayClient[] = [];
beforeAll(async () => {
  for (const name of ["gw01", "gw02"]) {
    const gw = await connectGateway(name, DOMAIN);
    gw.hello(0);
    await gw.welcomed();
    gw.send({
      type: "interface",
      public_key: GATEWAY_KEYS[name]!,
      port: 51820,
      address: `${name}.example.net`,
      link_address: "fe80::1",
      address4: "10.100.255.1",
    });
    gw.send({ type: "load", connected: 0, load: 0, peers: 0 });
    gws.push(gw);
  }
  await receiptOf(DOMAIN, freshKey());
});
afterAll(() => {
  for (const gw of gws) gw.close();
});

describe("live reports in the Parker domain", () => {
  it("confirm a concentrator's own nodes, never a key that left the desired set", async () => {
    const denied = await allocate("2001:db8:51::1");
    const kept = await allocate("2001:db8:52::1");
    expect(await unconfirmed()).toBe(2);
    const deny = await adminFetch(`/api/v1/admin/denylist/${encodeURIComponent(denied)}`, {
      method: "PUT",
      body: JSON.stringify({ reason: "test", domains: [DOMAIN] }),
    });
    expect(deny.status).toBe(200);

    gws[0]!.send({ type: "live", keys: [denied, kept] });
    // The frame and the requests take different paths: wait until it was handled (one step).
    for (let i = 0; i < 100 && (await unconfirmed()) === 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await unconfirmed()).toBe(1); // kept is confirmed; the denied key is not
  });
});
