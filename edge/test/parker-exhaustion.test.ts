import { env, exports } from "cloudflare:workers";
import { type CycleOutcome, ParkerNode } from "@wgkex-edge/shared/testing/parker-node";
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

/**
 * Attempts to exhaust the Parker pool through the Worker, as a stranger would: random keys,
 * from one address and from many. Test config: a /56 of /64s (255 allocations), 3 new per
 * address and hour, 40 new per hour, 20 % (51) unconfirmed at most, 2 h to confirm.
 * Legitimate nodes prove their key with a handshake (the concentrator's live report).
 */
const DOMAIN = "ffmuc_parker";
const HOUR = 3_600_000;

interface Client {
  node: ParkerNode;
  key: string;
}

function client(ip: string): Client {
  const key = freshKey();
  return {
    key,
    node: new ParkerNode({
      flavour: "upstream",
      configServer: "config.test",
      configPubkey: vectors.key.signify_public_key,
      publicKey: key,
      v6mtu: 1500,
      fetch: async (url) => {
        const res = await exports.default.fetch(url, { headers: { "CF-Connecting-IP": ip } });
        return { status: res.status, body: await res.text() };
      },
    }),
  };
}

const tally = (outcomes: CycleOutcome[]) => ({
  configured: outcomes.filter((o) => o.kind === "applied").length,
  later: outcomes.filter((o) => o.kind === "retry").length,
  failed: outcomes.filter((o) => o.kind === "failed").length,
});

async function pool(): Promise<{ capacity: number; used: number; unconfirmed: number; alarm: boolean }> {
  const status = await (await fetchEdge("/api/v1/status")).json<{
    domains: Array<{
      domain: string;
      parker?: { capacity: number; used: number; unconfirmed: number; alarm: boolean };
    }>;
  }>();
  return status.domains.find((d) => d.domain === DOMAIN)!.parker!;
}

/** One sample of /metrics for the Parker domain, e.g. metric("wgkex_edge_parker_requests_total", {kind: "new"}). */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await adminFetch("/metrics")).text();
  const wanted = Object.entries({ domain: DOMAIN, ...labels });
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (m?.[1] !== name) continue;
    const has = new Map([...m[2]!.matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (wanted.every(([k, v]) => has.get(k) === v)) return Number(m[3]);
  }
  throw new Error(`no ${name} ${JSON.stringify(labels)} in /metrics`);
}

const gws: GatewayClient[] = [];
beforeAll(async () => {
  for (const name of ["gw01", "gw02"]) {
    const gw = await connectGateway(name, DOMAIN);
    gw.hello(0);
    await gw.welcomed();
    gw.send({
      type: "interface",
      public_key: GATEWAY_KEYS[name],
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

describe("Parker pool exhaustion", () => {
  const legit: Client[] = [];
  const legitIds = new Map<string, unknown>();

  it("legitimate nodes get allocations and confirm them with a handshake", async () => {
    for (let i = 0; i < 5; i++) legit.push(client(`2001:db8:1e:${i + 1}::1`));
    for (const c of legit) {
      const o = await c.node.cycle();
      expect(o.kind).toBe("applied");
      if (o.kind === "applied") legitIds.set(c.key, o.config.id);
    }
    gws[0]!.send({ type: "live", keys: legit.map((c) => c.key) });
    await receiptOf(DOMAIN, freshKey());
    expect((await pool()).unconfirmed).toBe(0);
  });

  it("from one address: 3 allocations, then signed 'later' answers; legitimate nodes unaffected", async () => {
    const before = await pool();
    const outcomes: CycleOutcome[] = [];
    for (let i = 0; i < 60; i++) outcomes.push(await client("203.0.113.66").node.cycle());
    const t = tally(outcomes);
    console.log(
      `parker exhaustion, one address: ${t.configured} of 60 random keys allocated, ${t.later} told to come back later`,
    );
    expect(t).toEqual({ configured: 3, later: 57, failed: 0 });
    // Every "later" is verified by the node and changes nothing on it.
    for (const o of outcomes.filter((x) => x.kind === "retry")) expect(o.sleep).toBeGreaterThanOrEqual(120);
    expect((await pool()).used).toBe(before.used + 3);
    for (const c of legit) expect(await c.node.cycle()).toMatchObject({ kind: "applied", changes: [] });
  }, 30_000);

  it("from many addresses: the hourly budget caps it, the pool never fills, existing nodes keep their allocations", async () => {
    const before = await pool();
    const outcomes: CycleOutcome[] = [];
    for (let i = 0; i < 200; i++) outcomes.push(await client(`2001:db8:${(0xa000 + i).toString(16)}::1`).node.cycle());
    const t = tally(outcomes);
    const after = await pool();
    console.log(
      `parker exhaustion, 200 addresses: ${t.configured} of 200 allocated (hourly budget 40), pool ${after.used}/${after.capacity}, ${after.unconfirmed} unconfirmed`,
    );
    expect(t.failed).toBe(0);
    expect(t.configured).toBe(after.used - before.used);
    // 5 legitimate + 3 from one address + this attack: never more than 40 new in the hour.
    expect(after.used).toBeLessThanOrEqual(40);
    expect(after.used).toBeLessThan(after.capacity);
    for (const c of legit) {
      const o = await c.node.cycle();
      expect(o).toMatchObject({ kind: "applied", changes: [] });
      if (o.kind === "applied") expect(o.config.id).toBe(legitIds.get(c.key));
    }
    // What an operator's dashboard shows of both attacks.
    // From one address, 60 requests: the Worker's per-address limiter (20 a minute in the test
    // config) answered 40 itself; of the 20 that reached the object, 3 got allocations and 17
    // met the per-source limit. Both kinds of "later" are signed and counted.
    expect(await metric("wgkex_edge_parker_requests_total", { kind: "source_limit" })).toBe(17);
    await expect.poll(() => metric("wgkex_edge_rejections_total", { domain: "", reason: "rate_limited" })).toBe(40);
    expect(await metric("wgkex_edge_parker_requests_total", { kind: "rate_limit" })).toBe(t.later);
    expect(await metric("wgkex_edge_parker_requests_total", { kind: "new" })).toBe(after.used);
    expect(await metric("wgkex_edge_parker_pool_used")).toBe(after.used);
    expect(await metric("wgkex_edge_parker_pool_unconfirmed")).toBe(after.unconfirmed);
    expect(await metric("wgkex_edge_parker_pool_capacity")).toBe(255);
    expect(await metric("wgkex_edge_parker_pool_alarm")).toBe(0);
  }, 30_000); // 200 configuration requests: 5-7 s on a loaded 2-core box

  it("frees the attackers' allocations once they fail to confirm, and new nodes get allocations again", async () => {
    const stub = env.DOMAIN_REGISTRY.getByName(DOMAIN);
    const swept = await stub.sweep(Date.now() + 2 * HOUR + 60_000);
    const after = await pool();
    console.log(
      `parker exhaustion: ${swept.expired} unconfirmed allocations freed after 2 h; pool ${after.used}/${after.capacity}`,
    );
    expect(after).toMatchObject({ used: legit.length, unconfirmed: 0, alarm: false });
    expect(swept.expired).toBeGreaterThan(0);
    expect(await metric("wgkex_edge_parker_requests_total", { kind: "expired" })).toBe(swept.expired);
    expect(await metric("wgkex_edge_parker_pool_unconfirmed")).toBe(0);
    // The freed peers left the concentrators: removals were fanned out.
    await gws[0]!.until(
      (fs) => fs.some((f) => f.type === "peers" && f.entries.some((e) => e.op === "remove")),
      "removals",
    );
    const newcomer = client("2001:db8:1f::1");
    expect(await newcomer.node.cycle()).toMatchObject({ kind: "applied", problems: [] });
    for (const c of legit) {
      const o = await c.node.cycle();
      if (o.kind === "applied") expect(o.config.id).toBe(legitIds.get(c.key));
      else throw new Error(`legitimate node lost its configuration: ${JSON.stringify(o)}`);
    }
  });
});
