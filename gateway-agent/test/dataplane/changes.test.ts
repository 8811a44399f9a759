import type { PeerEntry } from "@wgkex-edge/shared";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planBatch, planSnapshot } from "../../src/dataplane/changes.ts";
import { publicKeys } from "../../testing/index.ts";

const [a, b, c, s] = publicKeys(4, 60) as [string, string, string, string];
const entry = (seq: number, public_key: string, op: "add" | "remove" = "add"): PeerEntry => ({ seq, public_key, op });

describe("a batch of changes from the edge", () => {
  it("applies entries in seq order: the last op per key wins, whatever order they came in", () => {
    const plan = planBatch(
      [entry(3, a, "remove"), entry(1, a), entry(2, b), entry(4, b, "remove"), entry(5, b)],
      new Set(),
    );
    expect(plan).toEqual({ adds: [b], removes: [a], seq: 5 });
  });

  it("never touches a static peer, but still acknowledges its seq", () => {
    expect(planBatch([entry(7, s, "remove"), entry(8, c)], new Set([s]))).toEqual({ adds: [c], removes: [], seq: 8 });
    expect(planBatch([entry(9, s)], new Set([s]))).toEqual({ adds: [], removes: [], seq: 9 });
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
          new Set(),
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

describe("a snapshot (the full desired set)", () => {
  it("installs every listed key, removes managed peers not listed, never a static peer", () => {
    const plan = planSnapshot([a, b, s], [b, c, s], new Set([s]));
    expect(plan.install).toEqual([a, b]);
    expect(plan.remove).toEqual([c]);
    expect([...plan.fresh]).toEqual([a]);
  });

  it("an empty snapshot removes every managed peer", () => {
    expect(planSnapshot([], [a, s], new Set([s]))).toEqual({ install: [], remove: [a], fresh: new Set() });
  });
});
