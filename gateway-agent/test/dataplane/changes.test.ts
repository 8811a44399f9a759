import type { PeerEntry } from "@wgkex-edge/shared";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ownKeyFailure, planBatch, planSnapshot } from "../../src/dataplane/changes.ts";
import { publicKeys } from "../../testing/index.ts";

const [a, b, c, s] = publicKeys(4, 60) as [string, string, string, string];
const none = { staticKeys: new Set<string>() };
const entry = (seq: number, public_key: string, op: "add" | "remove" = "add"): PeerEntry => ({ seq, public_key, op });

describe("a batch of changes from the edge", () => {
  it("applies entries in seq order: the last op per key wins, whatever order they came in", () => {
    const plan = planBatch([entry(3, a, "remove"), entry(1, a), entry(2, b), entry(4, b, "remove"), entry(5, b)], none);
    expect(plan).toEqual({ adds: [b], removes: [a], refused: [], ranges: new Map(), seq: 5 });
  });

  it("never touches a static peer, but still acknowledges its seq", () => {
    const reserved = { staticKeys: new Set([s]) };
    expect(planBatch([entry(7, s, "remove"), entry(8, c)], reserved)).toEqual({
      adds: [c],
      removes: [],
      refused: [],
      ranges: new Map(),
      seq: 8,
    });
    expect(planBatch([entry(9, s)], reserved)).toEqual({
      adds: [],
      removes: [],
      refused: [],
      ranges: new Map(),
      seq: 9,
    });
  });

  it("refuses the gateway's own key with a reason (failed in the ack), never removes it, still acks its seq", () => {
    const reserved = { staticKeys: new Set<string>(), ownKey: c };
    expect(planBatch([entry(1, c), entry(2, a)], reserved)).toEqual({
      adds: [a],
      removes: [],
      refused: [ownKeyFailure(c)],
      ranges: new Map(),
      seq: 2,
    });
    expect(ownKeyFailure(c).reason).toMatch(/gateway's own WireGuard public key/);
    // Removing "it" would delete the gateway's own route: nothing to do, nothing to report.
    expect(planBatch([entry(3, c, "remove")], reserved)).toEqual({
      adds: [],
      removes: [],
      refused: [],
      ranges: new Map(),
      seq: 3,
    });
  });

  it("an entry the agent cannot apply is the key's last op: earlier ops of the batch are moot, it is refused with its reason", () => {
    const reason = 'not applied: this agent does not know op "verify" (upgrade wgkex-agent)';
    expect(planBatch([entry(1, a), entry(3, b)], none, [{ seq: 2, public_key: a, reason }])).toEqual({
      adds: [b],
      removes: [],
      refused: [{ public_key: a, reason }],
      ranges: new Map(),
      seq: 3,
    });
    // A later op wins over it again; the highest seq is acknowledged either way.
    expect(planBatch([entry(5, a, "remove")], none, [{ seq: 4, public_key: a, reason }])).toEqual({
      adds: [],
      removes: [a],
      refused: [],
      ranges: new Map(),
      seq: 5,
    });
    expect(planBatch([], none, [{ seq: 9, public_key: c, reason }]).seq).toBe(9);
  });

  it("carries a Parker node's ranges from its last add; a later remove or unapplied entry drops them", () => {
    const reason = 'not applied: this agent does not know op "verify" (upgrade wgkex-agent)';
    const plan = planBatch(
      [
        { ...entry(1, a), allowed_ips: ["2001:db8::/64"] },
        { ...entry(2, a), allowed_ips: ["2001:db8:1::/64", "10.0.1.0/24"] },
        { ...entry(3, b), allowed_ips: ["2001:db8:2::/64"] },
        entry(4, b, "remove"),
        { ...entry(5, c), allowed_ips: ["2001:db8:3::/64"] },
      ],
      none,
      [{ seq: 6, public_key: c, reason }],
    );
    expect(plan.ranges).toEqual(new Map([[a, ["2001:db8:1::/64", "10.0.1.0/24"]]]));
  });

  it("whatever the arrival order: each key in one list, with its last op; seq is the highest", () => {
    const keys = publicKeys(6, 61);
    const ops = fc.array(fc.record({ k: fc.nat(5), op: fc.constantFrom("add" as const, "remove" as const) }), {
      minLength: 1,
    });
    const shuffled = ops.chain((list) =>
      fc.tuple(
        fc.constant(list.map((o, i) => entry(i + 1, keys[o.k]!, o.op))),
        fc.shuffledSubarray(
          list.map((_, i) => i),
          { minLength: list.length, maxLength: list.length },
        ),
      ),
    );
    fc.assert(
      fc.property(shuffled, ([entries, order]) => {
        const plan = planBatch(
          order.map((i) => entries[i]!),
          none,
        );
        expect(plan.adds.filter((k) => plan.removes.includes(k))).toEqual([]);
        expect(plan.seq).toBe(entries.length);
        const last = new Map(entries.map((e) => [e.public_key, e.op]));
        expect(plan.adds.length + plan.removes.length).toBe(last.size);
        for (const [k, op] of last) expect(op === "add" ? plan.adds : plan.removes).toContain(k);
      }),
    );
  });
});

describe("a snapshot (the edge's whole set) against what the edge gave before", () => {
  const [f, d, own] = publicKeys(3, 62) as [string, string, string];
  const context = (over: Partial<Parameters<typeof planSnapshot>[1]> = {}) => ({
    staticKeys: new Set([s]),
    previous: new Set<string>(),
    adopted: new Set<string>(),
    installed: [] as string[],
    ...over,
  });

  it("installs every listed key, removes only the keys the edge gave before and no longer lists", () => {
    const plan = planSnapshot([a, b, s], context({ previous: new Set([b, c]), installed: [b, c, s] }));
    expect(plan.install).toEqual([a, b]);
    expect(plan.remove).toEqual([c]);
    expect([...plan.fresh]).toEqual([a]);
    expect(plan.foreign).toEqual([]);
  });

  it("never removes a peer the edge never gave (foreign): it is kept and listed", () => {
    // The wgkex gateway of issue #11: two routers' peers installed by wgkex's worker.
    const plan = planSnapshot([], context({ installed: [f, d, s] }));
    expect(plan).toEqual({ install: [], remove: [], fresh: new Set(), foreign: [f, d], refused: [] });
  });

  it("an empty snapshot removes what the edge gave, keeps static, adopted and foreign peers", () => {
    const plan = planSnapshot([], context({ previous: new Set([a]), adopted: new Set([d]), installed: [a, d, f, s] }));
    expect(plan.remove).toEqual([a]);
    expect(plan.foreign).toEqual([f]);
  });

  it("an adopted key the edge removed is not removed by a snapshot (adoption decides)", () => {
    const plan = planSnapshot([], context({ previous: new Set([d]), adopted: new Set([d]), installed: [d] }));
    expect(plan.remove).toEqual([]);
    expect(plan.foreign).toEqual([]);
  });

  it("refuses the gateway's own key", () => {
    const plan = planSnapshot([own, a], context({ ownKey: own }));
    expect(plan.install).toEqual([a]);
    expect(plan.refused).toEqual([ownKeyFailure(own)]);
  });

  it("whatever the sets: nothing outside `previous` is removed, every listed key is installed", () => {
    const keys = publicKeys(8, 63);
    const subset = fc.subarray(keys);
    fc.assert(
      fc.property(subset, subset, subset, subset, (listed, previous, adopted, installed) => {
        const plan = planSnapshot(
          listed,
          context({ previous: new Set(previous), adopted: new Set(adopted), installed }),
        );
        for (const k of plan.remove) {
          expect(previous).toContain(k);
          expect(listed).not.toContain(k);
          expect(adopted).not.toContain(k);
        }
        expect(new Set(plan.install)).toEqual(new Set(listed));
        for (const k of plan.foreign) expect([...listed, ...previous, ...adopted]).not.toContain(k);
        for (const k of installed)
          if (![...listed, ...previous, ...adopted].includes(k)) expect(plan.foreign).toContain(k);
      }),
    );
  });
});
