import { afterEach, describe, expect, it } from "vitest";
import { limitsSchema } from "../src/config/schema.ts";
import { Generations, KeyLimiter } from "../src/registry/registration/key-limiter.ts";

const limits = limitsSchema.parse({ per_key: 3, per_key_window_s: 60, ban_after: 4, ban_window_s: 600, ban_s: 900 });
const OWNER = "198.51.100.7";
const STRANGER = "2001:db8:1:2::/64";

describe("per-key limiter", () => {
  it("allows per_key registrations per window, then throttles until the window ends", () => {
    const t0 = 1_000_000;
    const l = new KeyLimiter(limits, t0);
    for (let i = 0; i < 3; i++) expect(l.check("k", OWNER, t0 + i).allowed).toBe(true);
    expect(l.check("k", OWNER, t0 + 10_000)).toEqual({ allowed: false, banned: false, retryAfterS: 50, newBan: false });
    expect(l.check("k", OWNER, t0 + 60_000).allowed).toBe(true);
  });

  it("keeps keys apart", () => {
    const l = new KeyLimiter(limits, 0);
    for (let i = 0; i < 3; i++) l.check("a", OWNER, 0);
    expect(l.check("a", OWNER, 1).allowed).toBe(false);
    expect(l.check("b", OWNER, 1).allowed).toBe(true);
  });

  it("bans a pair that keeps hammering, for ban_s, then forgives it", () => {
    let t = 5_000_000;
    const l = new KeyLimiter(limits, t);
    for (let i = 0; i < 3; i++) l.check("k", OWNER, t);
    const verdicts = [];
    for (let i = 0; i < 4; i++) verdicts.push(l.check("k", OWNER, ++t));
    expect(verdicts.slice(0, 3).every((v) => !v.allowed && !v.banned)).toBe(true);
    expect(verdicts[3]).toEqual({ allowed: false, banned: true, retryAfterS: 900, newBan: true });
    // Banned even in a fresh window, and still so after the ban's generation turned over.
    expect(l.check("k", OWNER, t + 120_000)).toMatchObject({ allowed: false, banned: true, newBan: false });
    expect(l.check("k", OWNER, t + 899_000)).toMatchObject({ allowed: false, banned: true, retryAfterS: 1 });
    expect(l.check("k", OWNER, t + 900_001).allowed).toBe(true);
  });

  it("a stranger replaying the owner's key throttles and bans only itself (issue 12: Retry-After 4669 for the owner)", () => {
    const t0 = 7_000_000;
    const l = new KeyLimiter(limitsSchema.parse({}), t0);
    const stranger = Array.from({ length: 27 }, (_, i) => l.check("victim", STRANGER, t0 + i * 100));
    expect(stranger.at(-1)).toMatchObject({ allowed: false, banned: true });
    // The owner, from its own address, right after: as if the stranger had never been there.
    for (let i = 0; i < 6; i++) expect(l.check("victim", OWNER, t0 + 3_000 + i).allowed).toBe(true);
  });

  it("forgets finished windows, so memory follows the active pairs", () => {
    const l = new KeyLimiter(limits, 0);
    for (let i = 0; i < 100; i++) l.check(`k${i}`, OWNER, 0);
    expect(l.trackedPairs).toBe(100);
    l.check("other", OWNER, 120_000);
    expect(l.trackedPairs).toBe(1);
  });
});

describe("the limiter's work per registration (issue 12: O(1) amortised)", () => {
  // Counts every step of every Map iteration in this isolate: the work a prune does.
  const mapIterator = Object.getPrototypeOf(new Map().entries()) as { next: (...args: unknown[]) => unknown };
  const originalNext = mapIterator.next;
  let steps = 0;
  const countSteps = () => {
    mapIterator.next = function (this: unknown, ...args: unknown[]) {
      steps++;
      return originalNext.apply(this, args);
    };
  };
  afterEach(() => {
    mapIterator.next = originalNext;
  });

  it("scans nothing with 150,000 distinct keys active in the window, and forgets them a generation later", () => {
    const l = new KeyLimiter(limits, 0);
    countSteps();
    steps = 0;
    for (let i = 0; i < 150_000; i++) {
      l.check(`key${i}`, OWNER, Math.floor(i / 10)); // all within 15 s: one window
      // Fail at the first check that iterated, rather than after 50,000 full scans.
      if (steps > 0) expect.fail(`check ${i} walked ${steps} map entries`);
    }
    expect(l.trackedPairs).toBe(150_000);
    // Two windows later, one check finds every finished window gone, with no scan either.
    steps = 0;
    l.check("late", OWNER, 200_000);
    const lateSteps = steps;
    expect(lateSteps).toBe(0);
    expect(l.trackedPairs).toBe(1);
  });

  it("the step counter sees a scan when there is one", () => {
    const map = new Map([["a", 1]]);
    countSteps();
    steps = 0;
    for (const _ of map);
    expect(steps).toBeGreaterThan(0);
  });
});

describe("generations", () => {
  it("keeps an entry at least one period after it was last set, and drops it within two", () => {
    const g = new Generations<number>(100, 0);
    g.set("a", 1, 99);
    expect(g.get("a", 198)).toBe(1); // rotated at 198: now in the previous generation
    g.set("a", 2, 198); // set again: current again
    expect(g.get("a", 297)).toBe(2);
    expect(g.get("a", 298)).toBe(2);
    expect(g.get("a", 398)).toBeUndefined(); // two rotations since it was last set
    expect(g.size).toBe(0);
  });

  it("drops both generations after a quiet spell of two periods", () => {
    const g = new Generations<number>(100, 0);
    g.set("a", 1, 0);
    expect(g.get("a", 250)).toBeUndefined();
  });
});
