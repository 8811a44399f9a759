import { linkLocal } from "@wgkex-edge/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitInstalled } from "./support/check.ts";
import { e2eSkip } from "./support/prerequisites.ts";
import { GATEWAY_PORT, inNs, ping, until, World as W, type World } from "./support/world.ts";

const skip = e2eSkip();

describe.skipIf(skip !== undefined)("1. a v2 registration reaches the data plane", () => {
  let world: World;
  beforeAll(async () => {
    world = await W.create({ gateways: 1 });
  });
  afterAll(async () => {
    await world?.destroy();
  });

  it("peer, route and FDB entry on the gateway; handshake; ping over WireGuard and over the VXLAN overlay; receipt installed", async () => {
    const gw = world.gateway("gw01");
    const node = world.addNode();
    // Our own derivation agrees with the shared one (the agent and the edge use shared's).
    expect(node.ll).toBe(linkLocal(node.publicKey, "wgkex"));

    const t0 = Date.now();
    const endpoint = await node.registerV2();
    const answered = Date.now() - t0;
    expect(endpoint).toEqual({
      Address: gw.externalName,
      AllowedIPs: [gw.ll],
      Port: String(GATEWAY_PORT),
      PublicKey: gw.publicKey,
    });
    // The firmware waits 10 s before it uses the tunnel: the peer must be there by then.
    const installedAfter = (await waitInstalled(gw, [node.publicKey], 10_000)) + answered;
    console.log(`e2e 1: v2 answered in ${answered} ms, peer+route+FDB on the gateway after ${installedAfter} ms`);

    node.connect(endpoint);
    // Over WireGuard, link-local to link-local (the ping also drives the handshake).
    expect(ping(node.ns, `${gw.ll}%${node.wgIf}`, 10), world.describe()).toBe(true);
    await until(
      "a handshake on both sides",
      () => node.latestHandshake() > 0 && gw.peers().get(node.publicKey)!.latestHandshake > 0,
    );
    expect(gw.peers().get(node.publicKey)!.endpoint).toBe(
      `${node.address}:${gw.peers().get(node.publicKey)!.endpoint.split(":")[1]}`,
    );
    expect(ping(gw.ns, `${node.ll}%${gw.wgIf}`, 5), world.describe()).toBe(true);

    // Over the VXLAN overlay: an address on each side's VXLAN interface.
    inNs(gw.ns, ["ip", "-6", "addr", "add", "fd77:e2e::1/64", "dev", gw.vxIf, "nodad"]);
    inNs(node.ns, ["ip", "-6", "addr", "add", "fd77:e2e::2/64", "dev", node.vxIf, "nodad"]);
    expect(ping(node.ns, "fd77:e2e::1", 10), world.describe()).toBe(true);
    expect(ping(gw.ns, "fd77:e2e::2", 5), world.describe()).toBe(true);

    const receipt = await world.edge.receipt(node.publicKey);
    expect(receipt).toMatchObject({
      state: "active",
      target: "gw01",
      gateways: [{ name: "gw01", state: "installed" }],
    });
  });
});
