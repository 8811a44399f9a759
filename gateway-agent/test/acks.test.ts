import { linkLocal } from "@wgkex-edge/shared";
import { describe, expect, it } from "vitest";
import { ownKeyFailure } from "../src/dataplane/changes.ts";
import { publicKeys, SimHost } from "../testing/index.ts";
import { startTestAgent } from "./support/agent.ts";

const ll = (k: string) => linkLocal(k, "wgkex");

describe("the ack never covers a seq that was not applied", () => {
  it("an op this agent does not know: the rest of the frame installed, that entry failed with the reason, acked with it", async () => {
    const sim = new SimHost();
    const { edge } = await startTestAgent({ sim });
    await edge.until(() => edge.acks().length === 1);
    const [a, b, c, d] = publicKeys(4, 130) as [string, string, string, string];
    edge.log.push(
      { seq: 1, public_key: a, op: "add" },
      { seq: 2, public_key: b, op: "add" },
      { seq: 3, public_key: c, op: "add" },
    );
    // A newer edge's frame: entry 2 carries an op this agent does not know.
    edge.sendRaw(
      JSON.stringify({
        type: "peers",
        entries: [
          { seq: 1, public_key: a, op: "add" },
          { seq: 2, public_key: b, op: "verify" },
          { seq: 3, public_key: c, op: "add", hint: "x" },
        ],
      }),
    );
    edge.publish([{ key: d }]);
    await edge.until(() => edge.acks().some((x) => x.seq >= 4));
    const covering = edge.acks().filter((x) => x.seq >= 2);
    for (const ack of covering) {
      expect(ack.failed?.map((f) => f.public_key).sort()).toEqual([b, c].sort());
    }
    expect(covering[0]!.failed).toContainEqual({
      public_key: b,
      reason: 'not applied: this agent does not know op "verify" (upgrade wgkex-agent)',
    });
    expect(covering[0]!.failed).toContainEqual({
      public_key: c,
      reason: "not applied: this agent does not know field hint (upgrade wgkex-agent)",
    });
    expect(sim.peers.has(a) && sim.peers.has(d)).toBe(true);
    expect(sim.peers.has(b) || sim.peers.has(c)).toBe(false);
  });

  it("a frame whose entries cannot even be named: nothing acked past it; the session starts over and the replay brings it", async () => {
    const sim = new SimHost();
    const { edge, logger } = await startTestAgent({ sim });
    await edge.until(() => edge.acks().length === 1);
    const [a, b] = publicKeys(2, 131) as [string, string];
    edge.log.push({ seq: 1, public_key: a, op: "add" }, { seq: 2, public_key: b, op: "add" });
    edge.sendRaw(JSON.stringify({ type: "peers", entries: [{ seq: 1, key: a, op: "add" }] }));
    edge.sendRaw(JSON.stringify({ type: "peers", entries: [{ seq: 2, public_key: b, op: "add" }] }));
    await edge.until(() => edge.hellos.length === 2 && edge.acks().some((x) => x.seq === 2));
    const before = edge.frames.indexOf(edge.frames.filter((f) => f.type === "hello")[1]!);
    expect(edge.frames.slice(0, before).filter((f) => f.type === "ack" && f.seq > 0)).toEqual([]);
    expect(edge.hellos[1]).toMatchObject({ since: 0 });
    expect(sim.peers.has(a) && sim.peers.has(b)).toBe(true);
    expect(logger.records.find((r) => r.msg === "starting the session over from the last applied seq")).toMatchObject({
      since: 0,
    });
  });

  it("a snapshot page that cannot be read: no partial snapshot is applied (nothing removed), the session starts over", async () => {
    const sim = new SimHost();
    const { edge } = await startTestAgent({ sim });
    await edge.until(() => edge.acks().length === 1);
    const [kept, other] = publicKeys(2, 132) as [string, string];
    edge.publish([{ key: kept }]);
    await edge.until(() => edge.acks().some((x) => x.seq === 1));
    edge.record([{ key: other }]);
    edge.send({
      type: "welcome",
      v: 1,
      domain: "ffmuc_welt",
      gateway: "gw01",
      mode: "snapshot",
      head: 2,
      variant: "wgkex",
    });
    edge.sendRaw(JSON.stringify({ type: "snapshot", head: 2, keys: ["not a key"], done: false }));
    edge.send({ type: "snapshot", head: 2, keys: [other], done: true });
    await edge.until(() => edge.hellos.length === 2 && edge.acks().some((x) => x.seq === 2));
    expect(sim.peers.has(kept) && sim.peers.has(other)).toBe(true);
  });

  it("a batch that fails half-way (state not written): later frames are not acked past it until the edge sent it again", async () => {
    const sim = new SimHost();
    let failOnce = true;
    const { edge } = await startTestAgent({
      sim,
      options: {
        hooks: {
          beforeStateWrite: (_d, seq) => {
            if (seq === 1 && failOnce) {
              failOnce = false;
              throw new Error("disk full");
            }
          },
        },
      },
    });
    await edge.until(() => edge.hellos.length === 1);
    const [a, b] = publicKeys(2, 133) as [string, string];
    edge.publish([{ key: a }]);
    await new Promise((r) => setTimeout(r, 30));
    edge.publish([{ key: b }]);
    await edge.until(() => edge.acks().some((x) => x.seq === 2));
    const second = edge.frames.indexOf(edge.frames.filter((f) => f.type === "hello")[1]!);
    expect(second).toBeGreaterThan(0);
    expect(edge.frames.slice(0, second).filter((f) => f.type === "ack" && f.seq > 0)).toEqual([]);
    expect(sim.peers.has(a) && sim.peers.has(b)).toBe(true);
  });
});

describe("the gateway's own public key is never a node", () => {
  it("refused with a clear reason in the ack; no route or FDB entry to the gateway itself", async () => {
    const sim = new SimHost();
    const { edge, t } = await startTestAgent({ sim });
    await edge.until(() => edge.acks().length === 1);
    const own = t.gatewayKey.publicKey;
    const [node] = publicKeys(1, 134) as [string];
    edge.publish([{ key: own }, { key: node }]);
    await edge.until(() => edge.acks().some((x) => x.seq === 2));
    expect(edge.acks().at(-1)).toEqual({ type: "ack", seq: 2, failed: [ownKeyFailure(own)] });
    expect(sim.peers.has(own)).toBe(false);
    expect(sim.routes.get("wg-welt")?.has(ll(own))).toBe(false);
    expect(sim.fdb.get("vx-welt")?.has(ll(own))).toBe(false);
    // Removing "it" later must not touch the gateway's own address either.
    sim.routes.get("wg-welt")!.add(ll(own));
    edge.publish([{ key: own, op: "remove" }]);
    await edge.until(() => edge.acks().some((x) => x.seq === 3));
    expect(sim.routes.get("wg-welt")?.has(ll(own))).toBe(true);
    expect(edge.acks().at(-1)).toEqual({ type: "ack", seq: 3 });
  });
});
