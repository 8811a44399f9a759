import { exports } from "cloudflare:workers";
import { type CycleOutcome, ParkerNode, type ParkerNodeOptions } from "@wgkex-edge/shared/testing/parker-node";
import vectors from "@wgkex-edge/shared/testing/parker-vectors.json" with { type: "json" };
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectGateway, fetchEdge, freshKey, GATEWAY_KEYS, type GatewayClient, receiptOf } from "./helpers.ts";

/**
 * Parker end to end inside workerd: the test node (written from the clients' sources)
 * fetches its configuration from the Worker, verifies the usign signature and the nonce,
 * and applies it to its emulated tunnels; the concentrators' sockets get the node's key and
 * ranges. Test config: ffmuc_parker, gw01 (PoP muc, IPv4+IPv6) and gw02 (PoP fra, IPv4).
 */
const DOMAIN = "ffmuc_parker";
const PORTS: Record<string, number> = { gw01: 51821, gw02: 51822 };

let v6 = 0;
const freshV6 = () => `2001:db8:ffff:${(++v6).toString(16)}::7`;

function node(options: Partial<ParkerNodeOptions> & { ip?: string } = {}): ParkerNode {
  const ip = options.ip ?? freshV6();
  return new ParkerNode({
    flavour: "upstream",
    configServer: "config.test",
    configPubkey: vectors.key.signify_public_key,
    publicKey: freshKey(),
    v6mtu: 1500,
    fetch: async (url) => {
      const res = await exports.default.fetch(url, { headers: { "CF-Connecting-IP": ip }, redirect: "manual" });
      return { status: res.status, body: await res.text() };
    },
    ...options,
  });
}

async function concentrator(name: string): Promise<GatewayClient> {
  const gw = await connectGateway(name, DOMAIN);
  gw.hello(0);
  const welcome = await gw.welcomed();
  expect(welcome.dataplane).toBe("parker");
  gw.send({
    type: "interface",
    public_key: GATEWAY_KEYS[name],
    port: PORTS[name],
    address: `${name}.example.net`,
    link_address: "fe80::1",
    address4: "10.100.255.1",
  });
  gw.send({ type: "load", connected: 0, load: 0, peers: 0 });
  return gw;
}

const applied = (o: CycleOutcome) => {
  if (o.kind !== "applied") throw new Error(`expected a configuration, got ${JSON.stringify(o)}`);
  return o;
};

let gws: GatewayClient[] = [];
beforeAll(async () => {
  gws = [await concentrator("gw01"), await concentrator("gw02")];
  // A round trip through the object: the reports are applied before the first request.
  await receiptOf(DOMAIN, freshKey());
});
afterAll(() => {
  for (const gw of gws) gw.close();
});

describe("Parker configuration from the edge", () => {
  it("configures an upstream node: verified, one tunnel per PoP, stable on the next request", async () => {
    const n = node();
    const first = applied(await n.cycle());
    expect(first.problems).toEqual([]);
    expect(first.url).toContain("/config?pubkey=");
    const config = first.config;
    expect(config).toMatchObject({ mtu: 1375, wg_keepalive: 25, retry: 120 });
    expect(config.range6).toMatch(/^2001:db8:100:[0-9a-f]+::\/64$/);
    expect(config.range4).toMatch(/^10\.100\.\d+\.0\/24$/);
    expect(config.concentrators).toEqual([
      {
        address4: "10.100.255.1",
        address6: "fe80::1",
        endpoint: `[2001:db8::1]:${PORTS.gw01}`,
        pubkey: GATEWAY_KEYS.gw01,
        id: 1,
      },
      // gw02 has no IPv6 endpoint: its IPv4 one rather than no tunnel.
      {
        address4: "10.100.255.1",
        address6: "fe80::1",
        endpoint: `198.51.100.2:${PORTS.gw02}`,
        pubkey: GATEWAY_KEYS.gw02,
        id: 2,
      },
    ]);
    expect(first.changes.filter((c) => c.op === "create").map((c) => c.iface)).toEqual(["wg_c1", "wg_c2"]);

    const again = applied(await n.cycle());
    expect(again.changes).toEqual([]);
    expect(again.config.range6).toBe(config.range6);
    expect(again.config.id).toBe(config.id);
  });

  it("pushes the node's key and ranges to both concentrators, and receipts say so", async () => {
    const n = node();
    const { config } = applied(await n.cycle());
    const key = n
      .url("x")
      .match(/pubkey=([^&]+)/)![1]!
      .replaceAll("%2B", "+");
    for (const gw of gws) {
      await gw.until(
        (fs) => fs.some((f) => f.type === "peers" && f.entries.some((e) => e.public_key === key)),
        `${gw.gateway} gets the node`,
      );
      const entry = gw.entries().find((e) => e.public_key === key)!;
      expect(entry).toMatchObject({ op: "add", allowed_ips: [config.range6, config.range4] });
      gw.send({ type: "ack", seq: entry.seq });
    }
    const receipt = await (await receiptOf(DOMAIN, key)).json<{ target: string; gateways: Array<{ state: string }> }>();
    expect(receipt.target).toBe("gw01,gw02");
    expect(receipt.gateways.map((g) => g.state)).toEqual(["installed", "installed"]);
  });

  it("gives a DS-Lite node IPv4 endpoints and 1356, which FFMUC's client keeps", async () => {
    const ffmuc = node({ flavour: "ffmuc", v6mtu: 1436 });
    const o = applied(await ffmuc.cycle());
    expect(o.problems).toEqual([]);
    expect(o.config.mtu).toBe(1356);
    expect((o.config.concentrators as Array<{ endpoint: string }>).map((c) => c.endpoint)).toEqual([
      `198.51.100.1:${PORTS.gw01}`,
      `198.51.100.2:${PORTS.gw02}`,
    ]);
    expect(o.changes.filter((c) => c.op === "create").map((c) => c.op === "create" && c.mtu)).toEqual([1356, 1356]);
    // An IPv4 client gets IPv4 endpoints whatever its v6mtu.
    const v4 = applied(await node({ ip: "203.0.113.9" }).cycle());
    expect((v4.config.concentrators as Array<{ endpoint: string }>)[0]!.endpoint).toBe(`198.51.100.1:${PORTS.gw01}`);
  });

  it("refuses a replayed answer at the node: the nonce is echoed verbatim", async () => {
    const nonces = ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"];
    let last = "";
    const n = node({ nonce: () => nonces.shift()! });
    const replaying = node({
      nonce: () => "cccccccccccccccccccccccccccccccc",
      fetch: async () => ({ status: 200, body: last }),
    });
    const res = await fetchEdge(`/config?pubkey=${encodeURIComponent(freshKey())}&nonce=${nonces[0]}&v6mtu=1500`);
    last = await res.text();
    expect(applied(await n.cycle()).config.nonce).toBe("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    expect(await replaying.cycle()).toMatchObject({ kind: "failed", stage: "nonce" });
  });

  it("answers /api/v3/config alike, over plain HTTP, with the signature line last", async () => {
    const key = freshKey();
    const query = `pubkey=${key.replaceAll("+", " ")}&nonce=0123&v6mtu=1500&version=v1&tc_ingress=1&tc_egress=2`;
    const [a, b] = await Promise.all([fetchEdge(`/config?${query}`), fetchEdge(`/api/v3/config?${query}`)]);
    for (const res of [a, b]) {
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Type")).toBe("text/plain");
      const body = await res.text();
      const [json, sig, ...rest] = body.split("\n");
      expect(rest).toEqual([]);
      expect(sig).toMatch(/^RWQxMjM0NTY3O[A-Za-z0-9+/]{86}=$/);
      expect(JSON.parse(json!)).toMatchObject({ nonce: "0123", id: expect.any(Number) });
    }
  });

  it.each([
    ["no key", "nonce=abc"],
    ["a key that is not canonical base64", `pubkey=${"B".repeat(43)}=&nonce=abc`],
    ["no nonce", `pubkey=${encodeURIComponent(freshKey())}`],
    ["an empty v6mtu", `pubkey=${encodeURIComponent(freshKey())}&nonce=abc&v6mtu=`],
  ])("answers 400 to %s (wgkex parker's body), and stores nothing", async (_name, query) => {
    const res = await fetchEdge(`/config?${query}`);
    expect(res.status).toBe(400);
    expect(await res.text()).toBe(
      '{"error":{"message":"Invalid data received. Please check your request and try again."}}\n',
    );
  });

  it("answers other methods as Flask answers a GET route", async () => {
    const post = await fetchEdge("/config", { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("Allow")).toBe("GET, HEAD, OPTIONS");
    const options = await fetchEdge("/api/v3/config", { method: "OPTIONS" });
    expect(options.status).toBe(200);
    expect(options.headers.get("Allow")).toBe("GET, HEAD, OPTIONS");
  });

  it("refuses v1/v2 registrations for the Parker domain", async () => {
    const res = await exports.default.fetch("http://edge.test/api/v2/wg/key/exchange", {
      method: "POST",
      body: JSON.stringify({ domain: DOMAIN, public_key: freshKey() }),
    });
    expect(res.status).toBe(400);
  });

  it("shows the pool on the status page and in the metrics", async () => {
    const status = await (await fetchEdge("/api/v1/status")).json<{
      domains: Array<{ domain: string; parker?: { capacity: number; used: number; alarm: boolean } }>;
    }>();
    const parker = status.domains.find((d) => d.domain === DOMAIN)!.parker!;
    expect(parker).toMatchObject({ capacity: 255, alarm: false });
    expect(parker.used).toBeGreaterThan(0);
    expect(status.domains.find((d) => d.domain === "ffmuc_welt")!.parker).toBeUndefined();
    const page = await (await fetchEdge("/status")).text();
    expect(page).toContain(`of 255 in use`);
  });
});
