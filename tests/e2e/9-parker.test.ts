import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INET4, INET6, PARKER_DOMAIN, ParkerWorld } from "./support/parker-world.ts";
import { e2eSkip } from "./support/prerequisites.ts";
import { tryInNs, until } from "./support/world.ts";

const skip = e2eSkip();

const ping = (ns: string, family: 4 | 6, target: string, tries = 10): boolean => {
  for (let i = 0; i < tries; i++) {
    if (tryInNs(ns, ["ping", `-${family}`, "-n", "-c", "1", "-W", "1", target]).code === 0) return true;
  }
  return false;
};

describe.skipIf(skip !== undefined)("9. Parker: a routed node through its concentrator", () => {
  let world: ParkerWorld;
  beforeAll(async () => {
    world = await ParkerWorld.create();
  });
  afterAll(async () => {
    await world?.destroy();
  });

  const parkerPool = async () =>
    ((await world.edge.status(PARKER_DOMAIN)) as unknown as { parker: { used: number; unconfirmed: number } }).parker;

  it("gets a signed configuration, tunnels to the concentrator, and a host in its prefix pings through the gateway", async () => {
    const { node, gateway, edge } = world;
    const t0 = Date.now();
    const outcome = await node.client.cycle();
    expect(outcome.kind, JSON.stringify(outcome)).toBe("applied");
    if (outcome.kind !== "applied") return;
    expect(outcome.problems).toEqual([]);
    const config = outcome.config;
    expect(config).toMatchObject({
      mtu: 1375,
      concentrators: [{ id: 1, endpoint: `${gateway.address}:51820`, pubkey: gateway.publicKey, address6: "fe80::1" }],
    });
    expect(String(config.range6)).toMatch(/^fd00:e2e:100:[0-9a-f]+::\/64$/);

    // The concentrator installs the node's key with its ranges, and a route for each.
    const ranges = [String(config.range6), String(config.range4)];
    await until(
      () =>
        `gw01 to route ${ranges.join(", ")} to the node: ${JSON.stringify(gateway.routedRanges().routes)}\n${gateway.logTail()}`,
      () => {
        const r = gateway.routedRanges();
        return r.allowedIps.get(node.publicKey) === ranges.join(",") && ranges.every((x) => r.routes.includes(x));
      },
      15_000,
    );
    console.log(`e2e 9: config answered, peer and routes on the concentrator after ${Date.now() - t0} ms`);

    node.apply(outcome);
    const host = node.addHost(config);
    expect(ping(node.hostNs, 6, INET6), `IPv6 from ${host.v6} to ${INET6}`).toBe(true);
    expect(ping(node.hostNs, 4, INET4), `IPv4 from ${host.v4} to ${INET4}`).toBe(true);
    expect(node.latestHandshake("wg_c1")).toBeGreaterThan(0);

    const receipt = (await edge.get(
      `/api/v1/wg/key/status?domain=${PARKER_DOMAIN}&public_key=${encodeURIComponent(node.publicKey)}`,
    )) as { status: number; body: { target: string; gateways: Array<{ name: string; state: string }> } };
    expect(receipt.body).toMatchObject({ target: "gw01", gateways: [{ name: "gw01", state: "installed" }] });

    // The handshake, reported by the agent's live keys, confirms the allocation (proof of
    // possession): it no longer counts against the unconfirmed share nor expires as such.
    await until(
      async () => `the allocation to be confirmed: ${JSON.stringify(await parkerPool())}`,
      async () => (await parkerPool()).unconfirmed === 0,
      15_000,
    );
    expect(await parkerPool()).toMatchObject({ used: 1, unconfirmed: 0, alarm: false });

    // The next request changes nothing on the node: same ranges, same tunnel.
    const again = await node.client.cycle();
    expect(again).toMatchObject({ kind: "applied", changes: [], problems: [] });
  });
});
