import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitInstalled } from "./support/check.ts";
import { e2eSkip } from "./support/prerequisites.ts";
import { GATEWAY_PORT, ping, until, World as W, type World } from "./support/world.ts";

const skip = e2eSkip();

describe.skipIf(skip !== undefined)("2. a v1 node lands on every gateway of its domain", () => {
  let world: World;
  beforeAll(async () => {
    world = await W.create({ gateways: 2 });
  });
  afterAll(async () => {
    await world?.destroy();
  });

  it("v1 OK → peer, route and FDB entry on gw01 and gw02; the node picks one from its static list and talks to it", async () => {
    const [gw1, gw2] = [world.gateway("gw01"), world.gateway("gw02")];
    const node = world.addNode();
    const r = await node.register(1);
    expect(r.status).toBe(200);
    expect(r.text).toBe('{"Message":"OK"}\n');
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);

    const [t1, t2] = await Promise.all([
      waitInstalled(gw1, [node.publicKey], 10_000),
      waitInstalled(gw2, [node.publicKey], 10_000),
    ]);
    console.log(`e2e 2: v1 key on gw01 after ${t1} ms, on gw02 after ${t2} ms`);
    // The gateways are each other's static peers (with route and FDB entry), untouched.
    expect(gw1.peers().has(gw2.publicKey)).toBe(true);
    expect(gw2.peers().has(gw1.publicKey)).toBe(true);

    const receipt = await world.edge.receipt(node.publicKey);
    expect(receipt?.target).toBe("*");
    expect(receipt?.gateways.map((g) => [g.name, g.state]).sort()).toEqual([
      ["gw01", "installed"],
      ["gw02", "installed"],
    ]);

    // A v1 node takes a gateway from its firmware's static list: gw02 here.
    node.connect({ Address: gw2.address, Port: String(GATEWAY_PORT), PublicKey: gw2.publicKey, AllowedIPs: [gw2.ll] });
    expect(ping(node.ns, `${gw2.ll}%${node.wgIf}`, 10), world.describe()).toBe(true);
    await until("handshake with gw02", () => gw2.peers().get(node.publicKey)!.latestHandshake > 0);
    expect(gw1.peers().get(node.publicKey)!.latestHandshake).toBe(0);
  });
});
