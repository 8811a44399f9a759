import { describe, expect, it } from "vitest";
import { REPAIR_LIMITS, RepairLimiter } from "../src/registry/registration/repair-limiter.ts";

describe("repair limits (pure)", () => {
  it("a key at most once per interval", () => {
    const l = new RepairLimiter({ perKeyIntervalMs: 60_000, perSecond: 100, burst: 100 }, 0);
    expect(l.check("a", 0)).toBe("allowed");
    expect(l.check("a", 59_999)).toBe("recent");
    expect(l.check("b", 59_999)).toBe("allowed");
    expect(l.check("a", 60_000)).toBe("allowed");
    expect(l.check("b", 60_000)).toBe("recent");
  });

  it("a domain's budget: a burst, then the refill rate; limited keys are not remembered", () => {
    const l = new RepairLimiter({ perKeyIntervalMs: 60_000, perSecond: 2, burst: 3 }, 0);
    expect(["a", "b", "c", "d"].map((k) => l.check(k, 0))).toEqual(["allowed", "allowed", "allowed", "budget"]);
    expect(l.check("d", 499)).toBe("budget");
    expect(l.check("d", 500)).toBe("allowed");
    expect(l.check("e", 500)).toBe("budget");
    // Time going backwards (a clock step) refills nothing.
    expect(l.check("e", 100)).toBe("budget");
  });

  it("memory stays within burst + rate × interval keys however many distinct keys repeat", () => {
    const l = new RepairLimiter(REPAIR_LIMITS, 0);
    let allowed = 0;
    for (let i = 0; i < 200_000; i++) {
      const now = i * 5; // 200 repeats a second for 1,000 s
      if (l.check(`k${i}`, now) === "allowed") allowed++;
      expect(l.size).toBeLessThanOrEqual(
        REPAIR_LIMITS.burst + (REPAIR_LIMITS.perSecond * REPAIR_LIMITS.perKeyIntervalMs) / 1000,
      );
    }
    expect(allowed).toBeLessThanOrEqual(REPAIR_LIMITS.burst + 1000 * REPAIR_LIMITS.perSecond);
    expect(allowed).toBeGreaterThanOrEqual(1000 * REPAIR_LIMITS.perSecond);
  });
});
