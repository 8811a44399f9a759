import { linkLocal } from "@wgkex-edge/shared";
import { describe, expect, it } from "vitest";
import { fail } from "../src/commands/runner.ts";
import { publicKeys, SimHost } from "../testing/index.ts";
import { startTestAgent } from "./support/agent.ts";

describe("maintenance: stale cleanup, reconcile and reports", () => {
  it("stale cleanup reports removed keys and live keys to the edge", async () => {
    const sim = new SimHost();
    const { edge, agent, t } = await startTestAgent({ sim });
    await edge.until(() => edge.acks().length === 1);
    const [live, stale] = publicKeys(2, 30);
    edge.publish([{ key: live! }, { key: stale! }]);
    await edge.until(() => edge.acks().some((a) => a.seq === 2));
    const nowS = Math.floor(Date.now() / 1000);
    sim.peers.get(live!)!.handshake = nowS - 10;
    sim.peers.get(stale!)!.handshake = nowS - 20_000;
    sim.peers.get(t.staticKey)!.handshake = nowS - 99_999;
    await agent.cleanup();
    await agent.reportLive();
    await agent.reportLoad();
    await edge.until(() => edge.ofType("removed").length > 0 && edge.ofType("live").length > 0);
    const removed = edge.ofType("removed")[0]!;
    expect(removed.entries.map((e) => e.public_key)).toEqual([stale]);
    expect(removed.entries[0]!.reason).toMatch(/^stale: last handshake \d+ s ago/);
    expect(edge.ofType("live")[0]).toEqual({ type: "live", keys: [live] });
    await edge.until(() => edge.ofType("load").some((l) => l.connected === 1));
    expect(edge.ofType("load").at(-1)).toEqual({ type: "load", connected: 1, load: 1, peers: 1 });
    expect(sim.peers.has(t.staticKey)).toBe(true);
  });

  it("reconcile returns the repairs it could not make, logs them after trying, counts only the ones made", async () => {
    const sim = new SimHost();
    const { edge, agent, logger } = await startTestAgent({ sim });
    await edge.until(() => edge.acks().length === 1);
    const [good, bad] = publicKeys(2, 32) as [string, string];
    edge.publish([{ key: good }, { key: bad }]);
    await edge.until(() => edge.acks().some((a) => a.seq === 2));
    // Drift: both peers lost their allowed-ips; one of them cannot be set again.
    sim.peers.get(good)!.allowed = [];
    sim.peers.get(bad)!.allowed = [];
    sim.failKeys.add(bad);
    const report = await agent.domains.get("ffmuc_welt")!.reconcile();
    expect(report.reconcile?.plan.installPeers.sort()).toEqual([good, bad].sort());
    expect(report.reconcile?.failed).toEqual([
      { public_key: bad, reason: "wg: Unable to modify interface: Invalid argument" },
    ]);
    expect(sim.peers.get(good)!.allowed).toEqual([`${linkLocal(good, "wgkex")}/128`]);
    const text = await agent.metrics.registry.metrics();
    expect(text).toMatch(/^wgkex_agent_reconcile_repairs_total\{domain="ffmuc_welt",kind="peer"\} 1$/m);
    const msgs = logger.records.map((r) => r.msg);
    expect(msgs.indexOf("reconcile could not repair everything")).toBeGreaterThan(
      msgs.indexOf("reconcile repaired drift"),
    );
    expect(logger.records.find((r) => r.msg === "reconcile repaired drift")).toMatchObject({ peers: 1, failed: 1 });
  });

  it("stale cleanup returns the removals that failed and reports only the peers it removed", async () => {
    const sim = new SimHost();
    const { edge, agent } = await startTestAgent({ sim });
    await edge.until(() => edge.acks().length === 1);
    const [gone, stuck] = publicKeys(2, 33) as [string, string];
    edge.publish([{ key: gone }, { key: stuck }]);
    await edge.until(() => edge.acks().some((a) => a.seq === 2));
    const nowS = Math.floor(Date.now() / 1000);
    sim.peers.get(gone)!.handshake = nowS - 20_000;
    sim.peers.get(stuck)!.handshake = nowS - 20_000;
    sim.failKeys.add(stuck);
    const report = await agent.domains.get("ffmuc_welt")!.cleanup();
    expect(report.cleanup?.removed).toEqual([gone]);
    expect(report.cleanup?.failed).toEqual([
      { public_key: stuck, reason: "wg: Unable to modify interface: Invalid argument" },
    ]);
    await edge.until(() => edge.ofType("removed").length > 0);
    expect(edge.ofType("removed").flatMap((f) => f.entries.map((e) => e.public_key))).toEqual([gone]);
  });

  it("a host that cannot be read is a returned error, nothing planned", async () => {
    const sim = new SimHost();
    const { edge, agent } = await startTestAgent({ sim });
    await edge.until(() => edge.acks().length === 1);
    sim.runner.on(["wg", "show"], fail("Unable to access interface: Operation not permitted"));
    const report = await agent.domains.get("ffmuc_welt")!.cleanup();
    expect(report).toEqual({ error: "cannot read WireGuard peers" });
  });
});
