import type { Limits } from "../../config/schema.ts";

export type KeyVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly banned: boolean; readonly retryAfterS: number; readonly newBan: boolean };

interface KeyWindow {
  windowStart: number;
  count: number;
  strikeStart: number;
  strikes: number;
}

/**
 * Exact per-key limits inside a domain's object: at most `per_key` registrations per
 * window; a key that keeps hammering past that (`ban_after` throttled requests within
 * `ban_window_s`) is banned for `ban_s`. Pure apart from its own memory; the object
 * persists bans so they survive eviction.
 */
export class KeyLimiter {
  private readonly windows = new Map<string, KeyWindow>();
  private readonly bans = new Map<string, number>();

  private readonly limits: Limits;

  constructor(limits: Limits) {
    this.limits = limits;
  }

  restoreBan(key: string, until: number): void {
    this.bans.set(key, until);
  }

  bannedUntil(key: string, now: number): number | undefined {
    const until = this.bans.get(key);
    if (until === undefined) return undefined;
    if (until <= now) {
      this.bans.delete(key);
      return undefined;
    }
    return until;
  }

  check(key: string, now: number): KeyVerdict {
    const until = this.bannedUntil(key, now);
    if (until !== undefined) {
      return { allowed: false, banned: true, retryAfterS: Math.ceil((until - now) / 1000), newBan: false };
    }
    const windowMs = this.limits.per_key_window_s * 1000;
    let w = this.windows.get(key);
    if (w === undefined) {
      if (this.windows.size >= 100_000) this.prune(now);
      w = { windowStart: now, count: 0, strikeStart: now, strikes: 0 };
      this.windows.set(key, w);
    }
    if (now - w.windowStart >= windowMs) {
      w.windowStart = now;
      w.count = 0;
    }
    w.count += 1;
    if (w.count <= this.limits.per_key) return { allowed: true };

    if (now - w.strikeStart >= this.limits.ban_window_s * 1000) {
      w.strikeStart = now;
      w.strikes = 0;
    }
    w.strikes += 1;
    if (w.strikes >= this.limits.ban_after) {
      const banUntil = now + this.limits.ban_s * 1000;
      this.bans.set(key, banUntil);
      this.windows.delete(key);
      return { allowed: false, banned: true, retryAfterS: this.limits.ban_s, newBan: true };
    }
    return {
      allowed: false,
      banned: false,
      retryAfterS: Math.max(1, Math.ceil((w.windowStart + windowMs - now) / 1000)),
      newBan: false,
    };
  }

  /** Forget windows that ended, so memory follows the active keys, not all keys ever seen. */
  prune(now: number): void {
    const horizon = Math.max(this.limits.per_key_window_s, this.limits.ban_window_s) * 1000;
    for (const [key, w] of this.windows) {
      if (now - w.windowStart >= horizon && now - w.strikeStart >= horizon) this.windows.delete(key);
    }
  }

  get trackedKeys(): number {
    return this.windows.size;
  }
}
