import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertInstalledOnce, nodePeers, pool, waitInstalled } from "./support/check.ts";
import { e2eSkip } from "./support/prerequisites.ts";
import { DOMAIN, inNs, ping, post, randomKey, run, until, World as W, type World } from "./support/world.ts";

const skip = e2eSkip();

describe.skipIf(skip !== undefined)("4. gateway reboot", () => {
  let world: World;
  beforeAll(async () => {
    world = await W.create({ gateways: 1 });
  });
  afterAll(async () => {
    await world?.destroy();
  });

  it("interfaces deleted, wireguard-go killed, agent restarted: every peer comes back and the node's overlay works again, nobody registers again", async () => {
    const gw = world.gateway("gw01");
    const node = world.addNode();
    node.connect(await node.registerV2());
    const others = Array.from({ length: 500 }, randomKey);
    await pool(others, 16, async (k) => expect((await post(world.edge.url, 1, DOMAIN, k)).status).toBe(200));
    const all = [node.publicKey, ...others];
    await waitInstalled(gw, all, 30_000);
    inNs(gw.ns, ["ip", "-6", "addr", "add", "fd77:e2e::1/64", "dev", gw.vxIf, "nodad"]);
    inNs(node.ns, ["ip", "-6", "addr", "add", "fd77:e2e::2/64", "dev", node.vxIf, "nodad"]);
    expect(ping(node.ns, "fd77:e2e::1", 10), world.describe()).toBe(true);
    const mac = (JSON.parse(inNs(gw.ns, ["ip", "-j", "link", "show", gw.vxIf])) as Array<{ address: string }>)[0]!
      .address;
    const head = (await world.edge.status()).head;

    // Reboot: agent and wireguard-go gone, no interfaces; the state directory survives.
    await gw.reboot();
    expect(run(["ip", "-n", gw.ns, "link", "show", gw.wgIf]).code).not.toBe(0);
    const t = Date.now();
    await gw.start();
    const waited = await waitInstalled(gw, all, 30_000);
    // The peers may be back before the snapshot: the agent's first reconcile installs its own
    // desired set (kept in the state directory) before it connects. The snapshot comes anyway.
    const snapshotLog =
      /"msg":"welcome"[^\n]*"mode":"snapshot"[^\n]*\n(.*\n)*.*"msg":"snapshot installed"[^\n]*"keys":501/;
    await until(
      () => `the agent's log to say the snapshot of 501 keys was installed:\n${gw.logTail(4000)}`,
      () => snapshotLog.test(gw.logTail(20_000)),
      30_000,
    );
    console.log(
      `e2e 4: after the reboot all ${all.length} peers were back ${Date.now() - t} ms after the agent started (${waited} ms after its welcome)`,
    );
    expect(nodePeers(world, gw).sort()).toEqual([...all].sort());
    assertInstalledOnce(gw, all);
    await world.waitCaughtUp();
    expect((await world.edge.status()).head).toBe(head); // nobody registered again

    // The agent recreated the VXLAN interface with the same MAC (derived from its key and the
    // VNI), so the node's neighbour cache is still right.
    const macAfter = (JSON.parse(inNs(gw.ns, ["ip", "-j", "link", "show", gw.vxIf])) as Array<{ address: string }>)[0]!
      .address;
    expect(macAfter).toBe(mac);

    // The node never re-registered: its keepalive/pings bring the tunnel back (a new handshake
    // once its old session times out, ≤ 15 s), then the overlay works again. The overlay
    // address itself is the host's configuration, not the agent's: re-added as a boot script would.
    inNs(gw.ns, ["ip", "-6", "addr", "add", "fd77:e2e::1/64", "dev", gw.vxIf, "nodad"]);
    const t2 = Date.now();
    expect(ping(node.ns, "fd77:e2e::1", 40), world.describe()).toBe(true);
    console.log(`e2e 4: the node's overlay ping answered again ${Date.now() - t2} ms after the gateway was back`);
  });
});
