import { rmSync } from "node:fs";
import { linkLocal } from "@wgkex-edge/shared";
import { describe, expect, it } from "vitest";
import { desiredFile, desiredJournalFile } from "../src/domain/desired-peers.ts";
import { memoryLogger, startAgent } from "../src/index.ts";
import { publicKeys, SimHost } from "../testing/index.ts";
import { defer, peersOf, startEdge, startTestAgent } from "./support/agent.ts";

const ll = (k: string) => linkLocal(k, "wgkex");
const installed = (sim: SimHost, k: string) =>
  sim.peers.get(k)?.allowed[0] === `${ll(k)}/128` &&
  sim.routes.get("wg-welt")?.has(ll(k)) === true &&
  sim.fdb.get("vx-welt")?.has(ll(k)) === true;

describe("reconcile against the desired set (what the edge gave), not the kernel's peer list", () => {
  it("a peer removed behind the agent's back is installed again, route and FDB entry kept", async () => {
    const sim = new SimHost();
    const { edge, agent } = await startTestAgent({ sim });
    await edge.until(() => edge.acks().length === 1);
    const [k, other] = publicKeys(2, 90) as [string, string];
    edge.publish([{ key: k }, { key: other }]);
    await edge.until(() => edge.acks().some((a) => a.seq === 2));
    sim.peers.delete(k); // wg set wg-welt peer K remove
    const report = await agent.domains.get("ffmuc_welt")!.reconcile();
    expect(report.reconcile?.plan.installPeers).toEqual([k]);
    expect(report.reconcile?.plan.delRoutes).toEqual([]);
    expect(report.reconcile?.plan.delFdb).toEqual([]);
    expect(installed(sim, k) && installed(sim, other)).toBe(true);
    expect(await agent.metrics.registry.metrics()).toMatch(
      /^wgkex_agent_reconcile_repairs_total\{domain="ffmuc_welt",kind="peer"\} 1$/m,
    );
  });

  it("the set survives a restart: a peer lost while the agent was down is back at start, before the edge answers", async () => {
    const edge = await startEdge();
    const sim = new SimHost();
    const first = await startTestAgent({ edge, sim });
    await edge.until(() => edge.acks().length === 1);
    const keys = publicKeys(3, 91);
    edge.publish(keys.map((key) => ({ key })));
    await edge.until(() => edge.acks().some((a) => a.seq === 3));
    await first.agent.stop();
    for (const k of keys) sim.peers.delete(k);
    edge.down = true;
    const again = await startAgent(first.t.config, { runner: sim.runner, logger: memoryLogger(), timers: false });
    defer(() => again.stop());
    for (const k of keys) expect(installed(sim, k)).toBe(true);
  });

  it("what the stale cleanup removed is not desired any more: the next reconcile leaves it out", async () => {
    const sim = new SimHost();
    const { edge, agent } = await startTestAgent({ sim });
    await edge.until(() => edge.acks().length === 1);
    const [stale] = publicKeys(1, 92) as [string];
    edge.publish([{ key: stale }]);
    await edge.until(() => edge.acks().some((a) => a.seq === 1));
    sim.peers.get(stale)!.handshake = Math.floor(Date.now() / 1000) - 20_000;
    const welt = agent.domains.get("ffmuc_welt")!;
    expect((await welt.cleanup()).cleanup?.removed).toEqual([stale]);
    expect(welt.desired.has(stale)).toBe(false);
    expect((await welt.reconcile()).reconcile?.plan.installPeers).toEqual([]);
    expect(sim.peers.has(stale)).toBe(false);
  });

  it("peers nobody asked for survive reconcile and are counted as foreign", async () => {
    const sim = new SimHost();
    const { edge, agent } = await startTestAgent({ sim });
    await edge.until(() => edge.acks().length === 1);
    const foreign = publicKeys(2, 93);
    for (const k of foreign) sim.peers.set(k, { allowed: [`${ll(k)}/128`], handshake: 0, dev: "wg-welt" });
    const report = await agent.domains.get("ffmuc_welt")!.reconcile();
    expect(report.reconcile?.plan.foreign.sort()).toEqual([...foreign].sort());
    // A node peer installed the wgkex way gets its route and FDB entry, like any node.
    for (const k of foreign) expect(installed(sim, k)).toBe(true);
    expect(await agent.metrics.registry.metrics()).toMatch(/^wgkex_agent_foreign_peers\{domain="ffmuc_welt"\} 2$/m);
  });

  it("a state directory without a desired set (older agent) asks for a snapshot and removes nothing it finds", async () => {
    const edge = await startEdge();
    const sim = new SimHost();
    const first = await startTestAgent({ edge, sim });
    await edge.until(() => edge.acks().length === 1);
    const kept = publicKeys(2, 94);
    edge.publish(kept.map((key) => ({ key })));
    await edge.until(() => edge.acks().some((a) => a.seq === 2));
    await first.agent.stop();
    rmSync(desiredFile(first.t.config.state_dir, "ffmuc_welt"), { force: true });
    rmSync(desiredJournalFile(first.t.config.state_dir, "ffmuc_welt"), { force: true });
    // The edge forgot one of them meanwhile: an older agent would remove it, this one cannot know.
    edge.log.length = 0;
    edge.record([{ key: kept[0]! }]);
    const acked = edge.acks().length;
    const again = await startAgent(first.t.config, { runner: sim.runner, logger: memoryLogger(), timers: false });
    defer(() => again.stop());
    await edge.until(() => edge.hellos.length === 2 && edge.acks().length > acked);
    expect(edge.hellos[1]).toMatchObject({ since: 2, snapshot: true });
    for (const k of kept) expect(installed(sim, k)).toBe(true);
    expect([...again.domains.get("ffmuc_welt")!.desired.edge]).toEqual([kept[0]]);
    expect(peersOf(sim)).toContain(kept[1]);
  });
});
