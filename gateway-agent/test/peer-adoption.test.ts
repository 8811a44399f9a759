import { linkLocal } from "@wgkex-edge/shared";
import { describe, expect, it } from "vitest";
import { memoryLogger, startAgent } from "../src/index.ts";
import { publicKeys, SimHost, testSetup } from "../testing/index.ts";
import { defer, startEdge } from "./support/agent.ts";

const ll = (k: string) => linkLocal(k, "wgkex");
const nowS = () => Math.floor(Date.now() / 1000);

/**
 * A gateway as wgkex left it: wg-welt and vx-welt made by networkd, the other gateway as a
 * static peer, and node peers as wgkex's worker installs them (peer `<ll>/128`, route, FDB).
 */
function wgkexGateway(staticKey: string, nodes: Record<string, number>): SimHost {
  const sim = new SimHost();
  sim.links.set("wg-welt", { kind: "wireguard", data: {} });
  const routes = new Set<string>();
  const fdb = new Set<string>();
  for (const [key, handshake] of [...Object.entries(nodes), [staticKey, nowS() - 5] as const]) {
    sim.peers.set(key, { allowed: [`${ll(key)}/128`], handshake, dev: "wg-welt" });
    routes.add(ll(key));
    fdb.add(ll(key));
  }
  sim.routes.set("wg-welt", routes);
  sim.fdb.set("vx-welt", fdb);
  return sim;
}

const removals = (sim: SimHost) => sim.runner.argvs().filter((a) => a[0] === "wg" && a.includes("remove"));

async function firstStart() {
  const edge = await startEdge();
  const t = testSetup({ edgeUrl: edge.url });
  const [live1, live2, stale, never] = publicKeys(4, 700) as [string, string, string, string];
  const sim = wgkexGateway(t.staticKey, {
    [live1]: nowS() - 30,
    [live2]: nowS() - 170,
    [stale]: nowS() - 4 * 3600,
    [never]: 0,
  });
  const logger = memoryLogger();
  const agent = await startAgent(t.config, { runner: sim.runner, logger, timers: false });
  defer(() => agent.stop());
  const welt = agent.domains.get("ffmuc_welt")!;
  return { edge, t, sim, agent, welt, logger, live: [live1, live2], stale, never };
}

describe("adoption: the agent's first start on a wgkex gateway", () => {
  it("keeps every peer, reports the live ones once welcomed; the snapshot of an edge that knows none removes nothing", async () => {
    const { edge, sim, welt, live, stale, never, t } = await firstStart();
    await edge.until(() => edge.ofType("adopted").length > 0 && edge.acks().length > 0);
    expect(edge.hellos[0]).toMatchObject({ since: 0, snapshot: true });
    expect(edge.ofType("adopted")).toEqual([{ type: "adopted", keys: live }]);
    expect(removals(sim)).toEqual([]);
    expect([...sim.peers.keys()].sort()).toEqual([...live, stale, never, t.staticKey].sort());
    expect([...welt.desired.adopted].sort()).toEqual([...live].sort());
    expect(edge.badFrames).toEqual([]);
  });

  it("once the edge sends them back they are its keys: not reported again; stale and never-handshaked peers follow the cleanup rules", async () => {
    const { edge, sim, agent, welt, live, stale, never } = await firstStart();
    await edge.until(() => edge.ofType("adopted").length > 0 && edge.acks().length > 0);
    // The edge recorded them and fans them out (to this gateway too).
    edge.publish(live.map((key) => ({ key })));
    await edge.until(() => edge.acks().some((a) => a.seq === live.length));
    expect([...welt.desired.edge].sort()).toEqual([...live].sort());
    expect(welt.desired.adopted.size).toBe(0);
    const before = edge.ofType("adopted").length;
    const report = await welt.reconcile();
    expect(report.adoption).toMatchObject({ adopted: [], reported: 0 });
    expect(edge.ofType("adopted")).toHaveLength(before);
    // Normal stale cleanup: the stale one goes (reported removed); the never-handshaked one
    // starts its grace period; the live ones stay.
    const cleanup = await welt.cleanup();
    expect(cleanup.cleanup?.removed).toEqual([stale]);
    expect(sim.peers.has(never)).toBe(true);
    for (const k of live) expect(sim.peers.has(k)).toBe(true);
    await edge.until(() => edge.ofType("removed").length > 0);
    expect(edge.ofType("removed")[0]!.entries.map((e) => e.public_key)).toEqual([stale]);
    expect(await agent.metrics.registry.metrics()).toMatch(/^wgkex_agent_adopted_total\{domain="ffmuc_welt"\} 2$/m);
    expect(await agent.metrics.registry.metrics()).toMatch(/^wgkex_agent_adopted_peers\{domain="ffmuc_welt"\} 0$/m);
  });
});

describe("adoption: a live peer is never removed because the edge has not heard of it", () => {
  it("the edge refuses or ignores the report: kept through snapshots and reconciles, reported on every pass, put back when lost", async () => {
    const { edge, sim, welt, live } = await firstStart();
    await edge.until(() => edge.ofType("adopted").length > 0 && edge.acks().length > 0);
    // The edge's set grows by other keys and is sent again as a snapshot (a new welcome).
    const [other] = publicKeys(1, 701) as [string];
    edge.record([{ key: other }]);
    edge.dropAll();
    await edge.until(() => edge.hellos.length === 2 && edge.acks().some((a) => a.seq === 1));
    for (const k of live) expect(sim.peers.has(k)).toBe(true);
    expect(sim.peers.has(other)).toBe(true);
    expect(removals(sim)).toEqual([]);
    // Reported again after the new welcome, and at every pass until the edge sends them back.
    await edge.until(() => edge.ofType("adopted").length >= 2);
    expect(edge.ofType("adopted").at(-1)!.keys.sort()).toEqual([...live].sort());
    // Adopted = desired: lost behind the agent's back, it is put back (peer, route, FDB).
    sim.peers.delete(live[0]!);
    const report = await welt.reconcile();
    expect(report.reconcile?.plan.installPeers).toEqual([live[0]]);
    expect(sim.peers.get(live[0]!)?.allowed).toEqual([`${ll(live[0]!)}/128`]);
    expect(report.adoption?.reported).toBe(2);
  });

  it("the edge may still remove one on purpose (deny list, a v2 node moved): an explicit remove is obeyed", async () => {
    const { edge, sim, welt, live } = await firstStart();
    await edge.until(() => edge.ofType("adopted").length > 0 && edge.acks().length > 0);
    edge.publish([{ key: live[0]!, op: "remove" }]);
    await edge.until(() => edge.acks().some((a) => a.seq === 1));
    expect(sim.peers.has(live[0]!)).toBe(false);
    expect(welt.desired.has(live[0]!)).toBe(false);
    expect(sim.peers.has(live[1]!)).toBe(true);
  });

  it("survives a restart: the adopted set is kept in the state directory and reported at the next welcome", async () => {
    const { edge, sim, agent, t, live } = await firstStart();
    await edge.until(() => edge.ofType("adopted").length > 0 && edge.acks().length > 0);
    await agent.stop();
    const again = await startAgent(t.config, { runner: sim.runner, logger: memoryLogger(), timers: false });
    defer(() => again.stop());
    await edge.until(() => edge.ofType("adopted").length >= 2);
    expect(edge.hellos.at(-1)?.snapshot).toBeUndefined();
    expect(edge.ofType("adopted").at(-1)!.keys.sort()).toEqual([...live].sort());
    expect([...again.domains.get("ffmuc_welt")!.desired.adopted].sort()).toEqual([...live].sort());
  });
});
