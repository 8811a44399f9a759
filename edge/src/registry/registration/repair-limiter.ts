/**
 * How often a repeated registration may ask the gateways to verify a key. A node asks the
 * broker only when its tunnel is down, so a repeat of a key every gateway acknowledged is a
 * hint that one lost it; a storm of repeats (every node of a rebooted gateway) must not
 * become a storm of work on the gateways.
 */
export interface RepairLimits {
  /** A key is verified at most once per this interval. */
  readonly perKeyIntervalMs: number;
  /** Keys per second a domain may ask to verify, on average… */
  readonly perSecond: number;
  /** …and at most this many at once. */
  readonly burst: number;
}

export const REPAIR_LIMITS: RepairLimits = { perKeyIntervalMs: 60_000, perSecond: 20, burst: 500 };

export type RepairVerdict = "allowed" | "recent" | "budget";

/**
 * Pure and in memory (a restarted object forgets it: at worst one more verify per key).
 * Memory is bounded by `burst + perSecond × interval` keys (1,700 by default), and each
 * decision costs O(1) amortised: keys are remembered in the order they were allowed, which
 * is the order they expire in.
 */
export class RepairLimiter {
  private readonly limits: RepairLimits;
  private readonly allowedAt = new Map<string, number>();
  private tokens: number;
  private refilledAt: number;

  constructor(limits: RepairLimits = REPAIR_LIMITS, now = 0) {
    this.limits = limits;
    this.tokens = limits.burst;
    this.refilledAt = now;
  }

  check(key: string, now: number): RepairVerdict {
    for (const [k, at] of this.allowedAt) {
      if (now - at < this.limits.perKeyIntervalMs) break;
      this.allowedAt.delete(k);
    }
    if (this.allowedAt.has(key)) return "recent";
    this.tokens = Math.min(
      this.limits.burst,
      this.tokens + (Math.max(0, now - this.refilledAt) / 1000) * this.limits.perSecond,
    );
    this.refilledAt = now;
    if (this.tokens < 1) return "budget";
    this.tokens -= 1;
    this.allowedAt.set(key, now);
    return "allowed";
  }

  /** Keys remembered now (tests: the memory bound). */
  get size(): number {
    return this.allowedAt.size;
  }
}
