import type { Limits } from "../../config/schema.ts";
import { rows } from "../../storage/sql.ts";
import { KeyLimiter, type KeyVerdict } from "./key-limiter.ts";

const ALLOWED: KeyVerdict = { allowed: true };

/**
 * The per-key limit of a domain: KeyLimiter's verdicts, with bans stored so they survive
 * eviction (windows are memory only). Off when `limits.enabled` is false (benchmarks).
 */
export class KeyLimits {
  private readonly sql: SqlStorage;
  private readonly enabled: boolean;
  private readonly limiter: KeyLimiter;

  constructor(sql: SqlStorage, limits: Limits, now: number) {
    this.sql = sql;
    this.enabled = limits.enabled;
    this.limiter = new KeyLimiter(limits);
    sql.exec("DELETE FROM bans WHERE until <= ?", now);
    for (const ban of rows<{ public_key: string; until: number }>(sql, "SELECT public_key, until FROM bans")) {
      this.limiter.restoreBan(ban.public_key, ban.until);
    }
  }

  check(publicKey: string, now: number): KeyVerdict {
    if (!this.enabled) return ALLOWED;
    const verdict = this.limiter.check(publicKey, now);
    if (!verdict.allowed && verdict.newBan) {
      this.sql.exec(
        "INSERT INTO bans (public_key, until) VALUES (?, ?) ON CONFLICT (public_key) DO UPDATE SET until = excluded.until",
        publicKey,
        now + verdict.retryAfterS * 1000,
      );
    }
    return verdict;
  }
}
