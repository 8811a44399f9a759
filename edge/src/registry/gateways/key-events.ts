import { rows } from "../../storage/sql.ts";

export interface KeyEvent {
  gateway: string;
  kind: "failed" | "removed";
  reason: string;
  at: number;
  seq: number;
}

/**
 * What agents reported about single keys: the latest failure (an ack's `failed` list) or
 * removal (stale cleanup) per key and gateway, for the key's change with that seq. It makes
 * receipts say `failed`/`removed`, and the next registration of such a key a change again.
 * The keys with any event are mirrored in memory, so a repeated registration of a healthy
 * key costs no query here.
 */
export class KeyEvents {
  private readonly sql: SqlStorage;
  private readonly keys = new Set<string>();

  constructor(sql: SqlStorage) {
    this.sql = sql;
    for (const row of rows<{ public_key: string }>(sql, "SELECT DISTINCT public_key FROM gateway_events")) {
      this.keys.add(row.public_key);
    }
  }

  record(publicKey: string, event: KeyEvent): void {
    this.sql.exec(
      `INSERT INTO gateway_events (public_key, gateway, kind, reason, at, seq) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (public_key, gateway) DO UPDATE SET kind = excluded.kind, reason = excluded.reason, at = excluded.at, seq = excluded.seq`,
      publicKey,
      event.gateway,
      event.kind,
      event.reason,
      event.at,
      event.seq,
    );
    this.keys.add(publicKey);
  }

  /** Events that still apply to the key's current change (seq). */
  current(publicKey: string, seq: number): KeyEvent[] {
    if (!this.keys.has(publicKey)) return [];
    return rows(
      this.sql,
      "SELECT gateway, kind, reason, at, seq FROM gateway_events WHERE public_key = ? AND seq >= ?",
      publicKey,
      seq,
    );
  }

  prune(before: number): void {
    this.sql.exec("DELETE FROM gateway_events WHERE at < ?", before);
  }
}
