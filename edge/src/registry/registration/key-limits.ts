import type { Limits } from "../../config/schema.ts";
import { KeyLimiter, type KeyVerdict } from "./key-limiter.ts";

const ALLOWED: KeyVerdict = { allowed: true };

/**
 * The per-key limit of a domain: KeyLimiter's verdicts per key and source, in memory only
 * (an eviction forgives, which a throttle may; a stored ban would have to store the
 * client's address). Off when `limits.enabled` is false (benchmarks).
 */
export class KeyLimits {
  private readonly enabled: boolean;
  private readonly limiter: KeyLimiter;

  constructor(limits: Limits, now: number) {
    this.enabled = limits.enabled;
    this.limiter = new KeyLimiter(limits, now);
  }

  check(publicKey: string, source: string, now: number): KeyVerdict {
    return this.enabled ? this.limiter.check(publicKey, source, now) : ALLOWED;
  }
}
