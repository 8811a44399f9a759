import { linkLocal } from "@wgkex-edge/shared";
import { describe, expect, it } from "vitest";
import { ownKeyFailure } from "../src/dataplane/changes.ts";
import { linkLocalLayout } from "../src/dataplane/reconcile.ts";
import { NOT_DESIRED, STATIC_PEER, verifyOutcome } from "../src/dataplane/verify.ts";
import { verifiedFrames } from "../src/edge/frames.ts";
import { publicKeys, SimHost } from "../testing/index.ts";
import { startTestAgent } from "./support/agent.ts";

const ll = (k: string) => linkLocal(k, "wgkex");

describe("verify: the edge's repair signal", () => {
  it("installs what was lost behind the agent's back and answers what it found", async () => {
    const sim = new SimHost();
    const { edge, agent, t } = await startTestAgent({ sim });
    await edge.until(() => edge.acks().length === 1);
    const [lost, fine, flushed, stranger] = publicKeys(4, 150) as [string, string, string, string];
    edge.publish([{ key: lost }, { key: fine }, { key: flushed }]);
    await edge.until(() => edge.acks().some((a) => a.seq === 3));
    sim.peers.delete(lost);
    sim.fdb.get("vx-welt")!.delete(ll(flushed));
    const own = t.gatewayKey.publicKey;
    edge.send({ type: "verify", keys: [lost, fine, flushed, stranger, own, t.staticKey] });
    await edge.until(() => edge.ofType("verified").length === 1);
    expect(edge.ofType("verified")[0]).toEqual({
      type: "verified",
      ok: 1,
      repaired: [lost, flushed],
      failed: [
        { public_key: stranger, reason: NOT_DESIRED },
        ownKeyFailure(own),
        { public_key: t.staticKey, reason: STATIC_PEER },
      ],
    });
    expect(sim.peers.get(lost)?.allowed).toEqual([`${ll(lost)}/128`]);
    expect(sim.fdb.get("vx-welt")?.has(ll(flushed))).toBe(true);
    expect(sim.peers.has(stranger)).toBe(false); // a verify never gives a key
    const metrics = await agent.metrics.registry.metrics();
    expect(metrics).toMatch(/^wgkex_agent_verified_keys_total\{domain="ffmuc_welt",result="repaired"\} 2$/m);
    expect(metrics).toMatch(/^wgkex_agent_verified_keys_total\{domain="ffmuc_welt",result="failed"\} 3$/m);
  });

  it("verify frames that arrive while a pass waits join it: one pass, one answer", async () => {
    const sim = new SimHost();
    const { edge, agent } = await startTestAgent({ sim });
    await edge.until(() => edge.acks().length === 1);
    const keys = publicKeys(3, 151);
    edge.publish(keys.map((key) => ({ key })));
    await edge.until(() => edge.acks().some((a) => a.seq === 3));
    // Hold the queue: a reconcile that waits on its first read.
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let held = false;
    sim.runner.on(
      (c) => c.argv.join(" ") === "ip -d -j link show" && !held,
      async (call) => {
        held = true;
        await gate;
        return sim.handle(call)!;
      },
    );
    const busy = agent.domains.get("ffmuc_welt")!.reconcile();
    for (const key of keys) edge.send({ type: "verify", keys: [key] });
    await new Promise((r) => setTimeout(r, 100));
    release();
    await busy;
    await edge.until(() => edge.ofType("verified").length === 1);
    await agent.idle();
    expect(edge.ofType("verified")).toEqual([{ type: "verified", ok: 3, repaired: [] }]);
  });
});

describe("verify outcome (pure)", () => {
  const [a, b, c] = publicKeys(3, 152) as [string, string, string];
  const layout = linkLocalLayout({ variant: "wgkex", wireguard: "wg-x", ownAddress: "fe80::1" });
  const plan = {
    installPeers: [a],
    repairStatic: [],
    addRoutes: [],
    addFdb: [ll(b)],
    delRoutes: [],
    delFdb: [],
    foreign: [],
  };
  const context = { desired: () => true, staticKeys: new Set<string>(), layout };

  it("repaired when the pass installed the peer, its route or FDB entry; failed with the failure of any of them", () => {
    expect(verifyOutcome([a, b, c], { plan, failed: [] }, context)).toEqual({ ok: 1, repaired: [a, b], failed: [] });
    expect(
      verifyOutcome(
        [a, b, c],
        { plan, failed: [{ public_key: ll(b), reason: "bridge: Cannot find device" }] },
        context,
      ),
    ).toEqual({ ok: 1, repaired: [a], failed: [{ public_key: b, reason: "bridge: Cannot find device" }] });
  });

  it("a pass that could not read the host fails every key with the reason", () => {
    expect(verifyOutcome([a, a], { error: "cannot read WireGuard peers" }, context)).toEqual({
      ok: 0,
      repaired: [],
      failed: [{ public_key: a, reason: "not verified: cannot read WireGuard peers" }],
    });
  });

  it("answers fit the protocol's limits however many keys a pass answered", () => {
    const many = publicKeys(2500, 153);
    const frames = verifiedFrames({
      ok: 1200,
      repaired: many.slice(0, 1500),
      failed: many.slice(1500).map((k) => ({ public_key: k, reason: "x".repeat(600) })),
    });
    expect(frames).toHaveLength(2);
    expect(frames.map((f) => [f.ok, f.repaired.length, f.failed?.length])).toEqual([
      [1000, 1000, 1000],
      [200, 500, undefined],
    ]);
    expect(frames[0]!.failed![0]!.reason).toHaveLength(500);
    expect(verifiedFrames({ ok: 0, repaired: [], failed: [] })).toEqual([{ type: "verified", ok: 0, repaired: [] }]);
  });
});
