import { describe, expect, it } from "vitest";
import { limitsSchema } from "../src/config/schema.ts";
import { KeyLimiter } from "../src/registry/registration/key-limiter.ts";

const limits = limitsSchema.parse({ per_key: 3, per_key_window_s: 60, ban_after: 4, ban_window_s: 600, ban_s: 900 });

describe("per-key limiter", () => {
  it("allows per_key registrations per window, then throttles until the window ends", () => {
    const l = new KeyLimiter(limits);
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) expect(l.check("k", t0 + i).allowed).toBe(true);
    expect(l.check("k", t0 + 10_000)).toEqual({ allowed: false, banned: false, retryAfterS: 50, newBan: false });
    expect(l.check("k", t0 + 60_000).allowed).toBe(true);
  });

  it("keeps keys apart", () => {
    const l = new KeyLimiter(limits);
    for (let i = 0; i < 3; i++) l.check("a", 0);
    expect(l.check("a", 1).allowed).toBe(false);
    expect(l.check("b", 1).allowed).toBe(true);
  });

  it("bans a key that keeps hammering, for ban_s, then forgives it", () => {
    const l = new KeyLimiter(limits);
    let t = 5_000_000;
    for (let i = 0; i < 3; i++) l.check("k", t);
    const verdicts = [];
    for (let i = 0; i < 4; i++) verdicts.push(l.check("k", ++t));
    expect(verdicts.slice(0, 3).every((v) => !v.allowed && !v.banned)).toBe(true);
    expect(verdicts[3]).toEqual({ allowed: false, banned: true, retryAfterS: 900, newBan: true });
    // Banned even in a fresh window.
    expect(l.check("k", t + 120_000)).toMatchObject({ allowed: false, banned: true, newBan: false });
    expect(l.check("k", t + 900_001).allowed).toBe(true);
  });

  it("restores persisted bans", () => {
    const l = new KeyLimiter(limits);
    l.restoreBan("k", 2_000);
    expect(l.check("k", 1_000)).toMatchObject({ allowed: false, banned: true, retryAfterS: 1 });
    expect(l.check("k", 2_000).allowed).toBe(true);
  });

  it("forgets finished windows so memory follows active keys", () => {
    const l = new KeyLimiter(limits);
    for (let i = 0; i < 100; i++) l.check(`k${i}`, 0);
    expect(l.trackedKeys).toBe(100);
    l.prune(600_000);
    expect(l.trackedKeys).toBe(0);
  });
});
