import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelay } from "../../src/edge/backoff.ts";

describe("backoff", () => {
  it("is full jitter under an exponential cap", () => {
    const o = { baseMs: 1000, maxMs: 60_000 };
    expect(backoffDelay(0, o, () => 0.999)).toBe(999);
    expect(backoffDelay(3, o, () => 0.5)).toBe(4000);
    expect(backoffDelay(10, o, () => 0.999)).toBe(59_940);
    expect(backoffDelay(1000, o, () => 0.999)).toBe(59_940);
    expect(backoffDelay(5, o, () => 0)).toBe(0);
    fc.assert(
      fc.property(fc.nat(100), fc.double({ min: 0, max: 0.9999999, noNaN: true }), (n, r) => {
        const v = backoffDelay(n, o, () => r);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(Math.min(60_000, 1000 * 2 ** n));
      }),
    );
  });
});
