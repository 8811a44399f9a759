import { linkLocal } from "@wgkex-edge/shared";
import { describe, expect, it } from "vitest";
import { memoryLogger, readState, startAgent } from "../src/index.ts";
import { publicKeys, SimHost } from "../testing/index.ts";
import { defer, peersOf, startEdge, startTestAgent } from "./support/agent.ts";

describe("installing what the edge sends: batches, snapshots, acks after install", () => {
  it("live registrations arriving together are one batch; ack after install", async () => {
    const { edge, sim, agent } = await startTestAgent();
    await edge.until(() => edge.acks().length === 1);
    sim.runner.clear();
    const keys = publicKeys(3000, 22);
    // three frames of 1000 back to back
    edge.publish(keys.map((key) => ({ key })));
    await edge.until(() => edge.acks().some((a) => a.seq === 3000));
    const spawns = sim.runner.argvs().filter((a) => !(a[0] === "wg" && a[1] === "show"));
    expect(spawns.length).toBeLessThanOrEqual(6);
    expect(edge.acks().at(-1)).toEqual({ type: "ack", seq: 3000 });
    for (const k of keys) expect(sim.peers.has(k)).toBe(true);
    // the ack came after the install: every acked key is present
    expect(agent.metrics.registry.getSingleMetric("wgkex_agent_batch_size")).toBeDefined();
  });

  it("a storm of single-key frames still becomes few batches, not a spawn per key", async () => {
    const { edge, sim } = await startTestAgent();
    await edge.until(() => edge.acks().length === 1);
    sim.runner.clear();
    const keys = publicKeys(400, 24);
    // One frame per key, a few milliseconds apart: what a live registration storm looks like.
    for (const [i, key] of keys.entries()) {
      edge.publish([{ key }]);
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 3));
    }
    await edge.until(() => edge.acks().some((a) => a.seq === edge.acks()[0]!.seq + 400));
    for (const k of keys) expect(sim.peers.has(k)).toBe(true);
    const spawns = sim.runner.argvs().filter((a) => !(a[0] === "wg" && a[1] === "show"));
    // 3 commands per batch; without coalescing this would be 3 x 400.
    expect(spawns.length).toBeLessThanOrEqual(30);
  });

  it("removes on op remove and reports failed keys in the ack without blocking the rest", async () => {
    const { edge, sim } = await startTestAgent();
    await edge.until(() => edge.acks().length === 1);
    const [a, b, c] = publicKeys(3, 23);
    sim.failKeys.add(b!);
    edge.publish([{ key: a! }, { key: b! }, { key: c! }]);
    await edge.until(() => edge.acks().some((x) => x.seq === 3));
    expect(edge.acks().at(-1)).toEqual({
      type: "ack",
      seq: 3,
      failed: [{ public_key: b, reason: "wg: Unable to modify interface: Invalid argument" }],
    });
    expect(sim.peers.has(a!) && sim.peers.has(c!)).toBe(true);
    edge.publish([{ key: a!, op: "remove" }]);
    await edge.until(() => edge.acks().some((x) => x.seq === 4));
    expect(sim.peers.has(a!)).toBe(false);
    expect(sim.routes.get("wg-welt")?.has(linkLocal(a!, "wgkex"))).toBe(false);
  });

  it("snapshot removes the keys the edge gave and no longer lists, keeps peers it never gave and static peers", async () => {
    const sim = new SimHost();
    const { edge, t, agent } = await startTestAgent({ sim });
    await edge.until(() => edge.acks().length === 1);
    const given = publicKeys(2, 25);
    edge.publish(given.map((key) => ({ key })));
    await edge.until(() => edge.acks().some((a) => a.seq === 2));
    const stray = publicKeys(3, 26);
    // Peers installed by someone else (wgkex's worker, by hand): the edge never gave them.
    for (const k of stray)
      sim.peers.set(k, { allowed: [`${linkLocal(k, "wgkex")}/128`], handshake: 0, dev: "wg-welt" });
    const keep = publicKeys(2, 27);
    edge.record([{ key: given[0]!, op: "remove" }, { key: given[1]!, op: "remove" }, ...keep.map((key) => ({ key }))]);
    edge.send({
      type: "welcome",
      v: 1,
      domain: "ffmuc_welt",
      gateway: "gw01",
      mode: "snapshot",
      head: 6,
      variant: "wgkex",
    });
    edge.send({ type: "snapshot", head: 6, keys: [keep[0]!], done: false });
    edge.send({ type: "snapshot", head: 6, keys: [keep[1]!, t.staticKey], done: true });
    await edge.until(() => edge.acks().some((a) => a.seq === 6));
    expect(peersOf(sim).sort()).toEqual([...keep, ...stray, t.staticKey].sort());
    const welt = agent.domains.get("ffmuc_welt")!;
    expect([...welt.desired.edge].sort()).toEqual([...keep].sort());
    const report = await welt.reconcile();
    expect(report.reconcile?.plan.foreign.sort()).toEqual([...stray].sort());
    expect(peersOf(sim).sort()).toEqual([...keep, ...stray, t.staticKey].sort());
  });

  it("crash between install and state write: restart re-applies from the last written seq, nothing lost or doubled", async () => {
    const edge = await startEdge();
    const sim = new SimHost();
    const first = await startTestAgent({ edge, sim });
    await edge.until(() => edge.acks().length === 1);
    const a = publicKeys(5, 28);
    edge.publish(a.map((key) => ({ key })));
    await edge.until(() => edge.acks().some((x) => x.seq === 5));
    // now crash after installing the next batch, before its state is written
    let crashed = false;
    const second = await startAgent(first.t.config, {
      runner: sim.runner,
      logger: memoryLogger(),
      timers: false,
      hooks: {
        beforeStateWrite: (_d, seq) => {
          if (seq === 8 && !crashed) {
            crashed = true;
            second.kill();
            throw new Error("crash");
          }
        },
      },
    });
    await first.agent.stop(); // the second agent replaced the first
    await edge.until(() => edge.hellos.length >= 2 && edge.sockets.length === 1);
    const b = publicKeys(3, 29);
    edge.publish(b.map((key) => ({ key })));
    await edge.until(() => crashed);
    expect(readState(first.t.config.state_dir, "ffmuc_welt")?.applied_seq).toBe(5);
    for (const k of b) expect(sim.peers.has(k)).toBe(true); // installed but not recorded
    // restart
    const third = await startAgent(first.t.config, { runner: sim.runner, logger: memoryLogger(), timers: false });
    defer(() => third.stop());
    await edge.until(() => edge.acks().some((x) => x.seq === 8));
    expect(edge.hellos.at(-1)?.since).toBe(5);
    expect(readState(first.t.config.state_dir, "ffmuc_welt")?.applied_seq).toBe(8);
    const ours = [...sim.peers.keys()].filter((k) => k !== first.t.staticKey);
    expect(ours.sort()).toEqual([...a, ...b].sort());
    for (const k of [...a, ...b]) expect(sim.peers.get(k)!.allowed).toEqual([`${linkLocal(k, "wgkex")}/128`]);
  });
});
