import { describe, expect, it } from "vitest";
import { ALL_GATEWAYS, type Change, framesFor, liveOp, replayOp } from "../src/registry/log/peer-ops.ts";

const all = { target: ALL_GATEWAYS, removed: false };
const g1 = { target: "g1", removed: false };
const gone = (s: { target: string }) => ({ ...s, removed: true });

describe("peer operations per gateway", () => {
  it("adds a v1 key everywhere and a v2 key only on its gateway", () => {
    expect(liveOp({ seq: 1, publicKey: "k", before: undefined, after: all }, "g2")?.op).toBe("add");
    expect(liveOp({ seq: 1, publicKey: "k", before: undefined, after: g1 }, "g1")?.op).toBe("add");
    expect(liveOp({ seq: 1, publicKey: "k", before: undefined, after: g1 }, "g2")).toBeUndefined();
  });

  it("removes a key from the gateway it moved away from, and only there", () => {
    const moved: Change = { seq: 2, publicKey: "k", before: all, after: g1 };
    expect(liveOp(moved, "g2")?.op).toBe("remove");
    expect(liveOp(moved, "g1")?.op).toBe("add");
    const retired: Change = { seq: 3, publicKey: "k", before: g1, after: gone(g1) };
    expect(liveOp(retired, "g1")?.op).toBe("remove");
    expect(liveOp(retired, "g2")).toBeUndefined();
  });

  it("replays a row as add when it is the gateway's, else remove", () => {
    expect(replayOp(4, "k", all, "g9")).toEqual({ seq: 4, public_key: "k", op: "add" });
    expect(replayOp(4, "k", g1, "g2").op).toBe("remove");
    expect(replayOp(4, "k", gone(all), "g1").op).toBe("remove");
  });

  it("splits a burst into frames of at most max entries, in seq order", () => {
    const changes: Change[] = Array.from({ length: 2500 }, (_, i) => ({
      seq: i + 1,
      publicKey: `k${i}`,
      before: undefined,
      after: all,
    }));
    const frames = framesFor(changes, "g1", 1000);
    expect(frames.map((f) => f.length)).toEqual([1000, 1000, 500]);
    expect(frames.flat().map((e) => e.seq)).toEqual(changes.map((c) => c.seq));
    expect(
      framesFor(
        changes.map((c) => ({ ...c, after: g1 })),
        "g2",
        1000,
      ),
    ).toEqual([]);
  });
});
