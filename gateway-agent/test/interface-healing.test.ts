import { linkLocal } from "@wgkex-edge/shared";
import { describe, expect, it } from "vitest";
import { publicKeys, SimHost } from "../testing/index.ts";
import { startTestAgent } from "./support/agent.ts";

const ll = (k: string) => linkLocal(k, "wgkex");
const complete = (sim: SimHost, k: string) =>
  sim.peers.get(k)?.allowed[0] === `${ll(k)}/128` &&
  sim.routes.get("wg-welt")?.has(ll(k)) === true &&
  sim.fdb.get("vx-welt")?.has(ll(k)) === true;

async function poll(what: string, done: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function withPeers(options: Parameters<typeof startTestAgent>[0] = {}) {
  const sim = options.sim ?? new SimHost();
  const started = await startTestAgent({ ...options, sim });
  const { edge } = started;
  await edge.until(() => edge.acks().length === 1);
  const keys = publicKeys(3, 100);
  edge.publish(keys.map((key) => ({ key })));
  await edge.until(() => edge.acks().some((a) => a.seq === 3));
  return { ...started, sim, keys, welt: started.agent.domains.get("ffmuc_welt")! };
}

/** The interfaces as provisioning leaves them, and every peer with its route and FDB entry. */
function healthy(sim: SimHost, keys: readonly string[], staticKey: string, gatewayKey: string): void {
  const wg = sim.links.get("wg-welt");
  expect(wg).toMatchObject({ up: true, publicKey: gatewayKey, listenPort: 40011, addresses: [ll(gatewayKey)] });
  expect(sim.links.get("vx-welt")).toMatchObject({ kind: "vxlan", up: true, data: { link: "wg-welt" } });
  for (const k of [...keys, staticKey]) expect(complete(sim, k), k).toBe(true);
}

describe("interfaces changed behind the agent's back are provisioned again", () => {
  it("a healthy host: reconcile checks the interfaces and changes nothing", async () => {
    const { welt, sim, keys, t } = await withPeers();
    healthy(sim, keys, t.staticKey, t.gatewayKey.publicKey);
    sim.runner.clear();
    const report = await welt.reconcile();
    expect(report.interfaces).toBeUndefined();
    // Only reads: wg show dump, routes, FDB, links, addresses.
    expect(sim.runner.argvs().filter((a) => !a.includes("show"))).toEqual([]);
    expect(sim.runner.argvs()).toContainEqual(["ip", "-d", "-j", "link", "show"]);
  });

  it("wg interface deleted (the VXLAN interface with it): provisioned again, every desired peer, route and FDB entry back", async () => {
    const { welt, sim, keys, t, agent } = await withPeers();
    sim.deleteLink("wg-welt");
    expect(sim.links.has("vx-welt")).toBe(false);
    const report = await welt.reconcile();
    expect(report.interfaces?.problems).toEqual(["wg-welt is missing"]);
    expect(report.reconcile?.plan.installPeers.sort()).toEqual([...keys].sort());
    expect(report.reconcile?.failed).toEqual([]);
    healthy(sim, keys, t.staticKey, t.gatewayKey.publicKey);
    expect(await agent.metrics.registry.metrics()).toMatch(
      /^wgkex_agent_reconcile_repairs_total\{domain="ffmuc_welt",kind="interfaces"\} 1$/m,
    );
    expect((await welt.reconcile()).interfaces).toBeUndefined();
  });

  it("recreated empty by someone else (no key, no port, no address, as systemd-networkd would): provisioned into it", async () => {
    const { welt, sim, keys, t } = await withPeers();
    sim.deleteLink("wg-welt");
    sim.addEmptyWireguard("wg-welt");
    const report = await welt.reconcile();
    expect(report.interfaces?.problems).toEqual([
      `wg-welt has public key (none), not ${t.gatewayKey.publicKey}`,
      "wg-welt listens on 0, not 40011",
      `wg-welt lacks its address ${ll(t.gatewayKey.publicKey)}`,
      "vx-welt is missing",
    ]);
    healthy(sim, keys, t.staticKey, t.gatewayKey.publicKey);
  });

  it("FDB flushed: every entry back, nothing provisioned", async () => {
    const { welt, sim, keys, t } = await withPeers();
    sim.fdb.get("vx-welt")!.clear();
    const report = await welt.reconcile();
    expect(report.interfaces).toBeUndefined();
    expect(report.reconcile?.plan.addFdb.sort()).toEqual([...keys, t.staticKey].map(ll).sort());
    healthy(sim, keys, t.staticKey, t.gatewayKey.publicKey);
  });

  it("provisioning that fails again is a returned error; the next pass tries again", async () => {
    const { welt, sim, keys, t } = await withPeers();
    sim.deleteLink("wg-welt");
    sim.runner.on(["ip", "link", "add", "dev", "wg-welt"], {
      code: 2,
      stdout: "",
      stderr: "Error: Unknown device type.",
    });
    const report = await welt.reconcile();
    expect(report.error).toMatch(
      /^cannot provision the interfaces again: cannot create wg-welt: Error: Unknown device type\./,
    );
    expect(report.interfaces?.problems).toEqual(["wg-welt is missing"]);
    sim.runner.on(["ip", "link", "add", "dev", "wg-welt"], (call) => sim.handle(call)!);
    await welt.reconcile();
    healthy(sim, keys, t.staticKey, t.gatewayKey.publicKey);
  });
});

describe("host events: reconcile right after the interfaces change or lose routes and FDB entries", () => {
  const fast = { extra: "reports: { link_debounce_ms: 20 }" };

  it("deleting the wg interface heals it without waiting for the periodic reconcile", async () => {
    const { sim, keys, t } = await withPeers({ setup: fast, options: { linkEvents: true } });
    expect(sim.runner.calls.filter((c) => c.watch).map((c) => c.argv[0])).toEqual(["ip", "ip", "bridge"]);
    sim.deleteLink("wg-welt");
    await poll("the peers back", () => keys.every((k) => complete(sim, k)));
    healthy(sim, keys, t.staticKey, t.gatewayKey.publicKey);
  });

  it("an FDB flush (deleted entries) heals at once", async () => {
    const { sim, keys, t } = await withPeers({ setup: fast, options: { linkEvents: true } });
    sim.flushFdb("vx-welt");
    await poll("the FDB entries back", () => keys.every((k) => complete(sim, k)));
    healthy(sim, keys, t.staticKey, t.gatewayKey.publicKey);
  });

  it("events about other interfaces are ignored", async () => {
    const { sim, agent } = await withPeers({ setup: fast, options: { linkEvents: true } });
    sim.runner.clear();
    sim.runner.emit("7: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP");
    await new Promise((r) => setTimeout(r, 100));
    await agent.idle();
    expect(sim.runner.calls).toEqual([]);
  });

  it("a monitor that dies is started again, and the reconcile that follows catches what it missed", async () => {
    const { sim, keys } = await withPeers({
      setup: fast,
      options: { linkEvents: true },
    });
    sim.runner.endWatches(1);
    sim.peers.delete(keys[1]!); // no link event for this one
    await poll(
      "the monitor started again and the peer back",
      () => sim.runner.watching === 3 && complete(sim, keys[1]!),
    );
    expect(sim.runner.calls.filter((c) => c.watch)).toHaveLength(6);
  });
});
