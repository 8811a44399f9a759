import { firstRow, rows } from "../../storage/sql.ts";

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

  /** The key's entry, expired or not; null when it has none. */
  entry(publicKey: string): DenyEntry | null {
    return (
      firstRow<DenyEntry>(
        this.sql,
        "SELECT public_key, reason, created_at, expires_at FROM denylist WHERE public_key = ?",
        publicKey,
      ) ?? null
    );
  }

  /** Lift a denial; returns the entry lifted, null when the key was not denied here. */
  remove(publicKey: string): DenyEntry | null {
    const entry = this.entry(publicKey);
    this.sql.exec("DELETE FROM denylist WHERE public_key = ?", publicKey);
    this.denied.delete(publicKey);
    return entry;
  }

  /** Make the key's entry what it was (null: none), e.g. to undo a write that failed elsewhere. */
  restore(publicKey: string, entry: DenyEntry | null): void {
    if (entry === null) this.remove(publicKey);
    else this.add(publicKey, entry.reason, entry.created_at, entry.expires_at);
  }

  list(now: number): DenyEntry[] {
    this.sql.exec("DELETE FROM denylist WHERE expires_at IS NOT NULL AND expires_at <= ?", now);
    return rows(this.sql, "SELECT public_key, reason, created_at, expires_at FROM denylist ORDER BY created_at");
  }
}
