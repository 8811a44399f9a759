import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ConcentratorCandidate, chooseConcentrators, loadShift } from "../src/selection/concentrator-choice.ts";

const c = (name: string, id: number, pop: string, peers: number, extra: Partial<ConcentratorCandidate> = {}) => ({
  name,
  id,
  pop,
  weight: 1,
  online: true,
  reachable: true,
  drain: false,
  peers,
  ...extra,
});

const names = (picks: ReturnType<typeof chooseConcentrators>) => picks.map((p) => `${p.name}:${p.reason}`);

describe("concentrator choice (parker-facts §3.1)", () => {
  it("gives one concentrator per PoP, ordered by id", () => {
    const picks = chooseConcentrators([c("b1", 3, "b", 5), c("a1", 1, "a", 9), c("a2", 2, "a", 4)], [], 10);
    expect(names(picks)).toEqual(["a2:least-load", "b1:least-load"]);
  });

  it("weighs: the smallest peers − round(weight share × total) wins", () => {
    // total 30; targets 20 and 10: big is 5 under, small 5 over.
    const picks = chooseConcentrators([c("small", 1, "", 15), c("big", 2, "", 15, { weight: 2 })], [], 10);
    expect(names(picks)).toEqual(["big:least-load"]);
  });

  it("stays within max(1, tolerance × target), moves beyond it", () => {
    // target 50 each; tolerance 10 % = 5 peers.
    const within = [c("gw1", 1, "", 55), c("gw2", 2, "", 45)];
    expect(names(chooseConcentrators(within, ["gw1"], 10))).toEqual(["gw1:sticky"]);
    const beyond = [c("gw1", 1, "", 56), c("gw2", 2, "", 44)];
    expect(names(chooseConcentrators(beyond, ["gw1"], 10))).toEqual(["gw2:least-load"]);
  });

  it("never ping-pongs small gateways: the threshold is at least one peer (wgkex #276)", () => {
    // targets 1 and 1; gw1 one over, tolerance 10 % of 1 = 0.1 < 1.
    const small = [c("gw1", 1, "", 2), c("gw2", 2, "", 0)];
    expect(names(chooseConcentrators(small, ["gw1"], 10))).toEqual(["gw1:sticky"]);
  });

  it("keeps a node on a concentrator whose socket just dropped, but sends no new node there", () => {
    const blip = [c("gw1", 1, "", 10, { online: false }), c("gw2", 2, "", 10)];
    expect(names(chooseConcentrators(blip, ["gw1"], 10))).toEqual(["gw1:sticky"]);
    expect(names(chooseConcentrators(blip, [], 10))).toEqual(["gw2:least-load"]);
    const gone = [c("gw1", 1, "", 10, { online: false, reachable: false }), c("gw2", 2, "", 10)];
    expect(names(chooseConcentrators(gone, ["gw1"], 10))).toEqual(["gw2:least-load"]);
  });

  it("moves nodes off a draining concentrator, and skips full ones for new nodes", () => {
    const drain = [c("gw1", 1, "", 0, { drain: true }), c("gw2", 2, "", 50)];
    expect(names(chooseConcentrators(drain, ["gw1"], 10))).toEqual(["gw2:least-load"]);
    const full = [c("gw1", 1, "", 10, { cap: 10 }), c("gw2", 2, "", 40)];
    expect(names(chooseConcentrators(full, [], 10))).toEqual(["gw2:least-load"]);
    expect(names(chooseConcentrators(full, ["gw1"], 10))).toEqual(["gw1:sticky"]);
  });

  it("drops a PoP with nobody left, and returns nothing (never a made-up list) when all are gone", () => {
    const cands = [c("a1", 1, "a", 0), c("b1", 2, "b", 0, { online: false, reachable: false })];
    expect(names(chooseConcentrators(cands, ["a1", "b1"], 10))).toEqual(["a1:sticky"]);
    const none = cands.map((x) => ({ ...x, online: false, reachable: false }));
    expect(chooseConcentrators(none, ["a1", "b1"], 10)).toEqual([]);
  });

  it("is stable: with unchanged loads, asking again gives the same list", () => {
    const candidate = fc.record({
      peers: fc.nat(500),
      weight: fc.integer({ min: 1, max: 5 }),
      pop: fc.constantFrom("a", "b"),
      online: fc.boolean(),
      drain: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(candidate, { minLength: 1, maxLength: 6 }), (raw) => {
        const cands = raw.map((r, i) => c(`gw${i}`, i + 1, r.pop, r.peers, { ...r, reachable: r.online }));
        const first = chooseConcentrators(cands, [], 10);
        const again = chooseConcentrators(
          cands,
          first.map((p) => p.name),
          10,
        );
        expect(again.map((p) => p.name)).toEqual(first.map((p) => p.name));
        expect(new Set(first.map((p) => p.pop)).size).toBe(first.length);
        for (const p of first) expect(cands.find((x) => x.name === p.name)?.drain).toBe(false);
      }),
    );
  });

  it("shifts interpolated loads both ways", () => {
    expect([...loadShift(["gw1", "gw3"], ["gw2", "gw3"])]).toEqual([
      ["gw2", 1],
      ["gw1", -1],
    ]);
    expect(loadShift(["gw1"], ["gw1"]).size).toBe(0);
  });
});
