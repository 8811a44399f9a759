import { rows } from "../../storage/sql.ts";

export interface DenyEntry {
  public_key: string;
  reason: string;
  created_at: number;
  expires_at: number | null;
}

/**
 * Keys an operator denied in this domain (admin API), with a memory mirror so that a
 * registration costs no query here. Expired entries are dropped when met.
 */
export class DenyList {
  private readonly sql: SqlStorage;
  /** Denied key → expiry (null = until lifted). */
  private readonly denied = new Map<string, number | null>();

  constructor(sql: SqlStorage, now: number) {
    this.sql = sql;
    for (const entry of this.list(now)) this.denied.set(entry.public_key, entry.expires_at);
  }

  has(publicKey: string, now: number): boolean {
    if (!this.denied.has(publicKey)) return false;
    const expiresAt = this.denied.get(publicKey);
    if (expiresAt !== null && expiresAt !== undefined && expiresAt <= now) {
      this.denied.delete(publicKey);
      return false;
    }
    return true;
  }

  add(publicKey: string, reason: string, now: number, expiresAt: number | null): void {
    this.sql.exec(
      `INSERT INTO denylist (public_key, reason, created_at, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (public_key) DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at, expires_at = excluded.expires_at`,
      publicKey,
      reason,
      now,
      expiresAt,
    );
    this.denied.set(publicKey, expiresAt);
  }

  /** Lift a denial; false when the key was not denied here. */
  remove(publicKey: string): boolean {
    this.denied.delete(publicKey);
    return this.sql.exec("DELETE FROM denylist WHERE public_key = ?", publicKey).rowsWritten > 0;
  }

  list(now: number): DenyEntry[] {
    this.sql.exec("DELETE FROM denylist WHERE expires_at IS NOT NULL AND expires_at <= ?", now);
    return rows(this.sql, "SELECT public_key, reason, created_at, expires_at FROM denylist ORDER BY created_at");
  }
}
