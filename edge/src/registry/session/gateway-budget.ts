import type { GatewayBudgetLimits } from "../../config/schema.ts";

/** A token bucket: `burst` tokens at most, refilled at `perMs` tokens per millisecond. */
export class TokenBucket {
  private readonly perMs: number;
  private readonly burst: number;
  private tokens: number;
  private at: number;

  constructor(perMs: number, burst: number, now: number) {
    this.perMs = perMs;
    this.burst = burst;
    this.tokens = burst;
    this.at = now;
  }

  /** Take `n` tokens if there are that many; false (and nothing taken) if not. */
  take(n: number, now: number): boolean {
    if (now > this.at) {
      this.tokens = Math.min(this.burst, this.tokens + (now - this.at) * this.perMs);
      this.at = now;
    }
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}

/** Why a gateway's frame was refused, as the `over_budget` error frame says it. */
export type BudgetRefusal = string;

/**
 * What one gateway may send on one domain's socket: frames and their characters (ASCII JSON:
 * bytes) per second, and hellos (each answered with a replay or a snapshot) per minute, each
 * with a burst. Kept per gateway rather than per socket, so reconnecting does not refill it.
 * Pure: the caller passes the time.
 */
export class GatewayBudget {
  private readonly limits: GatewayBudgetLimits;
  private readonly frames: TokenBucket;
  private readonly bytes: TokenBucket;
  private readonly hellos: TokenBucket;

  constructor(limits: GatewayBudgetLimits, now: number) {
    this.limits = limits;
    this.frames = new TokenBucket(limits.frames_per_s / 1000, limits.frames_burst, now);
    this.bytes = new TokenBucket(limits.bytes_per_s / 1000, limits.bytes_burst, now);
    this.hellos = new TokenBucket(limits.hellos_per_min / 60_000, limits.hellos_burst, now);
  }

  /** A frame of `chars` characters arrived: undefined if it is within budget, else why not. */
  frame(chars: number, now: number): BudgetRefusal | undefined {
    const { frames_per_s, frames_burst, bytes_per_s, bytes_burst } = this.limits;
    if (!this.frames.take(1, now)) return `more than ${frames_per_s} frames/s (burst ${frames_burst})`;
    if (!this.bytes.take(chars, now)) return `more than ${bytes_per_s} bytes/s of frames (burst ${bytes_burst})`;
    return undefined;
  }

  /** A hello arrived: undefined if another welcome is within budget, else why not. */
  hello(now: number): BudgetRefusal | undefined {
    const { hellos_per_min, hellos_burst } = this.limits;
    return this.hellos.take(1, now) ? undefined : `more than ${hellos_per_min} hellos/min (burst ${hellos_burst})`;
  }
}
