import type { Limits } from "../../config/schema.ts";

export type KeyVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly banned: boolean; readonly retryAfterS: number; readonly newBan: boolean };

/**
 * Entries kept for at least `periodMs` after they were last set, forgotten a whole generation
 * at a time: every period the current map becomes the previous one and the previous one is
 * dropped. Nothing is ever scanned, so each operation is O(1), however many entries there are.
 */
export class Generations<V> {
  private readonly periodMs: number;
  private current = new Map<string, V>();
  private previous = new Map<string, V>();
  private rotatedAt: number;

  constructor(periodMs: number, now: number) {
    this.periodMs = periodMs;
    this.rotatedAt = now;
  }

  get(key: string, now: number): V | undefined {
    this.rotate(now);
    return this.current.get(key) ?? this.previous.get(key);
  }

  set(key: string, value: V, now: number): void {
    this.rotate(now);
    this.previous.delete(key);
    this.current.set(key, value);
  }

  delete(key: string): void {
    this.current.delete(key);
    this.previous.delete(key);
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  private rotate(now: number): void {
    const age = now - this.rotatedAt;
    if (age < this.periodMs) return;
    this.previous = age < 2 * this.periodMs ? this.current : new Map();
    this.current = new Map();
    this.rotatedAt = now;
  }
}

interface Window {
  start: number;
  count: number;
}

/**
 * Per-key limits inside a domain's object, counted per key AND source (the client's rate-limit
 * key: IPv4 address or IPv6 /64), so that nobody can lock a router out by replaying its
 * public key, which is no secret: at most `per_key` registrations per window; a pair that
 * keeps hammering past that (`ban_after` throttled requests within `ban_window_s`) is banned
 * for `ban_s`. Memory only (client addresses are never stored) and pure apart from it.
 */
export class KeyLimiter {
  private readonly limits: Limits;
  private readonly windows: Generations<Window>;
  private readonly strikes: Generations<Window>;
  private readonly bans: Generations<number>;

  constructor(limits: Limits, now: number) {
    this.limits = limits;
    this.windows = new Generations(limits.per_key_window_s * 1000, now);
    this.strikes = new Generations(limits.ban_window_s * 1000, now);
    this.bans = new Generations(limits.ban_s * 1000, now);
  }

  check(key: string, source: string, now: number): KeyVerdict {
    const pair = `${key} ${source}`;
    const until = this.bans.get(pair, now);
    if (until !== undefined && until > now) {
      return { allowed: false, banned: true, retryAfterS: Math.ceil((until - now) / 1000), newBan: false };
    }
    const windowMs = this.limits.per_key_window_s * 1000;
    const w = this.counted(this.windows, pair, windowMs, now);
    if (w.count <= this.limits.per_key) return { allowed: true };

    const strikes = this.counted(this.strikes, pair, this.limits.ban_window_s * 1000, now);
    if (strikes.count >= this.limits.ban_after) {
      this.bans.set(pair, now + this.limits.ban_s * 1000, now);
      this.windows.delete(pair);
      this.strikes.delete(pair);
      return { allowed: false, banned: true, retryAfterS: this.limits.ban_s, newBan: true };
    }
    return {
      allowed: false,
      banned: false,
      retryAfterS: Math.max(1, Math.ceil((w.start + windowMs - now) / 1000)),
      newBan: false,
    };
  }

  /** Pairs with a window, strikes or a ban in memory: follows the active ones, not all ever seen. */
  get trackedPairs(): number {
    return this.windows.size + this.strikes.size + this.bans.size;
  }

  /** Count one more in the pair's window, starting a new window when the last one ended. */
  private counted(windows: Generations<Window>, pair: string, windowMs: number, now: number): Window {
    let w = windows.get(pair, now);
    if (w === undefined || now - w.start >= windowMs) w = { start: now, count: 0 };
    w.count += 1;
    windows.set(pair, w, now);
    return w;
  }
}
