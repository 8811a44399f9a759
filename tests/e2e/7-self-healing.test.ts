import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertInstalledOnce } from "./support/check.ts";
import { GluonWatchdog, pingAsync } from "./support/gluon-client.ts";
import { e2eSkip } from "./support/prerequisites.ts";
import {
  ADMIN_TOKEN,
  type Gateway,
  inNs,
  type Node,
  ping,
  run,
  until,
  World as W,
  type World,
} from "./support/world.ts";

const skip = e2eSkip();

const GW_OVERLAY = "fd77:e2e::1";
const NODE_OVERLAY = "fd77:e2e::2";

/**
 * State the gateway's kernel loses behind the agent's back comes back, and the node's
 * overlay ping works again, with nothing restarted. The periodic reconcile is set to an
 * hour, so each scenario heals by its own trigger: the node registering again (the repair
 * signal: the edge asks the gateway to verify the key; `wg set … remove` makes no kernel
 * event) or the agent's host events (links; deleted routes and FDB entries).
 */
describe.skipIf(skip !== undefined)("7. self-healing: what the gateway loses comes back, nothing restarted", () => {
  let world: World;
  let gw: Gateway;
  let node: Node;
  let watchdog: GluonWatchdog;
  let agentPid: number | undefined;

  /** The overlay address lives on the gateway's VXLAN interface here (batman-adv would carry it). */
  const gatewayOverlay = () => {
    if (!inNs(gw.ns, ["ip", "-6", "addr", "show", "dev", gw.vxIf]).includes(GW_OVERLAY))
      inNs(gw.ns, ["ip", "-6", "addr", "add", `${GW_OVERLAY}/64`, "dev", gw.vxIf, "nodad"]);
  };
  const repairsDone = async (): Promise<number> => {
    const r = await fetch(new URL("/metrics", world.edge.url), { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    return Number(
      /^wgkex_edge_repairs_total\{domain="ffmuc_welt",kind="done"\} (\d+)$/m.exec(await r.text())?.[1] ?? 0,
    );
  };
  /** Until the node's overlay ping is answered again; ms since `t0`. */
  const overlayBack = async (t0: number, what: string): Promise<number> => {
    await until(
      () => `${what}: the node's overlay ping to work again\n${world.describe()}`,
      () => pingAsync(node.ns, GW_OVERLAY),
      90_000,
      200,
    );
    return Date.now() - t0;
  };

  beforeAll(async () => {
    world = await W.create({ gateways: 1, agent: { reports: { reconcile_interval_s: 3600 } } });
    gw = world.gateway("gw01");
    node = world.addNode();
    const endpoint = await node.registerV2();
    node.connect(endpoint);
    gatewayOverlay();
    inNs(node.ns, ["ip", "-6", "addr", "add", `${NODE_OVERLAY}/64`, "dev", node.vxIf, "nodad"]);
    expect(ping(node.ns, GW_OVERLAY, 15), world.describe()).toBe(true);
    await world.waitCaughtUp();
    agentPid = gw.pid;
    watchdog = new GluonWatchdog(node, endpoint, {
      everyMs: 2000,
      downChecks: 2,
      overlay: { local: NODE_OVERLAY, remote: GW_OVERLAY },
    });
    watchdog.start();
  });
  afterAll(async () => {
    await watchdog?.stop();
    await world?.destroy();
  });

  it("a peer removed behind the agent's back: the node registers again, the edge asks the gateway to verify, the peer is back", async () => {
    const registrations = watchdog.registrations;
    const repaired = await repairsDone();
    inNs(gw.ns, ["wg", "set", gw.wgIf, "peer", node.publicKey, "remove"]);
    const t0 = Date.now();
    expect(gw.peers().has(node.publicKey)).toBe(false);
    const ms = await overlayBack(t0, "peer removed");
    console.log(`e2e 7: peer removed by hand → overlay ping answered again after ${ms} ms`);
    assertInstalledOnce(gw, [node.publicKey]);
    expect(watchdog.registrations).toBeGreaterThan(registrations);
    expect(await repairsDone()).toBeGreaterThan(repaired);
    expect(gw.pid).toBe(agentPid);
  });

  it("the wg interface deleted and recreated empty, as systemd-networkd would: provisioned again, the peer back", async () => {
    inNs(gw.ns, ["ip", "link", "del", gw.wgIf]);
    const t0 = Date.now();
    await until(
      `${gw.wgIf}'s wireguard-go to exit`,
      () => !run(["pgrep", "-f", `wireguard-go -f ${gw.wgIf}$`]).stdout.trim(),
      10_000,
    );
    run(["rm", "-f", `/var/run/wireguard/${gw.wgIf}.sock`]);
    // networkd's part: a new, empty WireGuard interface of the same name, up.
    inNs(gw.ns, ["wireguard-go", gw.wgIf]);
    inNs(gw.ns, ["ip", "link", "set", gw.wgIf, "up"]);
    expect(inNs(gw.ns, ["wg", "show", gw.wgIf, "public-key"]).trim()).toBe("(none)");
    // The host's own configuration puts the overlay address back once the VXLAN interface is.
    await until(
      "the VXLAN interface to be back",
      () => run(["ip", "-n", gw.ns, "link", "show", gw.vxIf]).code === 0,
      60_000,
    );
    gatewayOverlay();
    const ms = await overlayBack(t0, "interface recreated");
    console.log(`e2e 7: wg interface deleted and recreated empty → overlay ping answered again after ${ms} ms`);
    expect(inNs(gw.ns, ["wg", "show", gw.wgIf, "public-key"]).trim()).toBe(gw.publicKey);
    expect(inNs(gw.ns, ["wg", "show", gw.wgIf, "listen-port"]).trim()).toBe("40011");
    expect(inNs(gw.ns, ["ip", "-6", "addr", "show", "dev", gw.wgIf])).toContain(gw.ll);
    assertInstalledOnce(gw, [node.publicKey]);
    expect(gw.pid).toBe(agentPid);
  });

  it("the FDB flushed (and the gateway's neighbours with it): the entry is back at once and the overlay answers", async () => {
    inNs(gw.ns, ["bridge", "fdb", "flush", "dev", gw.vxIf]);
    for (const dst of gw.fdb()) inNs(gw.ns, ["bridge", "fdb", "del", "00:00:00:00:00:00", "dev", gw.vxIf, "dst", dst]);
    inNs(gw.ns, ["ip", "-6", "neigh", "flush", "dev", gw.vxIf]);
    const t0 = Date.now();
    expect(gw.fdb()).toEqual([]);
    await until(
      `the FDB entry of ${node.name} back\n${world.describe()}`,
      () => gw.fdb().includes(node.ll),
      60_000,
      100,
    );
    const fdbMs = Date.now() - t0;
    const ms = await overlayBack(t0, "FDB flushed");
    console.log(`e2e 7: FDB flushed → entry back after ${fdbMs} ms, overlay ping answered after ${ms} ms`);
    assertInstalledOnce(gw, [node.publicKey]);
    expect(gw.pid).toBe(agentPid);
  });
});
