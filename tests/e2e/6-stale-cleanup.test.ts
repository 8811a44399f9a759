import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertInstalledOnce, waitInstalled } from "./support/check.ts";
import { e2eSkip } from "./support/prerequisites.ts";
import { ping, until, World as W, type World } from "./support/world.ts";

const skip = e2eSkip();
const STALE_AFTER_S = 5;

describe.skipIf(skip !== undefined)("6. stale cleanup on a shortened clock", () => {
  let world: World;
  beforeAll(async () => {
    world = await W.create({
      gateways: 2,
      // sweep every second; stale 5 s after the last handshake; 120 s grace for new peers
      agent: { cleanup: { interval_s: 1, stale_after_s: STALE_AFTER_S, grace_s: 120 } },
    });
  });
  afterAll(async () => {
    await world?.destroy();
  });

  it("a node that stops handshaking is removed; a new node inside its grace period is not; static peers never are", async () => {
    const [gw1, gw2] = [world.gateway("gw01"), world.gateway("gw02")];
    const a = world.addNode();
    const endpoint = await a.registerV2();
    const gwA = world.gateways.find((g) => g.externalName === endpoint.Address)!;
    await waitInstalled(gwA, [a.publicKey], 10_000);
    a.connect(endpoint);
    expect(ping(a.ns, `${gwA.ll}%${a.wgIf}`, 10), world.describe()).toBe(true);
    const handshake = await until(
      "node A's handshake",
      () => gwA.peers().get(a.publicKey)?.latestHandshake || undefined,
    );

    // A loses power; B registers (v1: both gateways) and never brings its tunnel up.
    a.disconnect();
    const b = world.addNode();
    expect((await b.register(1)).status).toBe(200);
    await Promise.all([waitInstalled(gw1, [b.publicKey], 10_000), waitInstalled(gw2, [b.publicKey], 10_000)]);

    await until(
      () =>
        `A's peer to be removed from ${gwA.name} (handshake ${handshake}, stale after ${STALE_AFTER_S} s)\n${gwA.describe()}`,
      () => !gwA.peers().has(a.publicKey),
      30_000,
      200,
    );
    const removedAfter = Date.now() / 1000 - handshake;
    console.log(
      `e2e 6: node A removed from ${gwA.name} ${removedAfter.toFixed(1)} s after its last handshake (stale_after_s ${STALE_AFTER_S}, sweep every 1 s)`,
    );
    expect(removedAfter).toBeGreaterThan(STALE_AFTER_S);
    expect(gwA.routes()).not.toContain(a.ll);
    expect(gwA.fdb()).not.toContain(a.ll);

    // Several more sweeps: B (grace) and the other gateway (static peer) stay everywhere.
    await new Promise((r) => setTimeout(r, 3000));
    assertInstalledOnce(gw1, [b.publicKey, gw2.publicKey]);
    assertInstalledOnce(gw2, [b.publicKey, gw1.publicKey]);
    expect(gw1.peers().get(gw2.publicKey)!.latestHandshake).toBe(0); // never handshaked, never removed

    const receiptA = await until("A's receipt to say removed", async () => {
      const r = await world.edge.receipt(a.publicKey);
      return r?.gateways.find((g) => g.name === gwA.name)?.state === "removed" ? r : undefined;
    });
    expect(receiptA.gateways.find((g) => g.name === gwA.name)).toMatchObject({ state: "removed" });
    const receiptB = await world.edge.receipt(b.publicKey);
    expect(receiptB?.gateways.map((g) => g.state)).toEqual(["installed", "installed"]);
  });
});
