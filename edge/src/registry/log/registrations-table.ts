import { firstRow, rows } from "../../storage/sql.ts";
import { ALL_GATEWAYS, type RegistrationState } from "./peer-ops.ts";

export interface RegistrationRow {
  public_key: string;
  seq: number;
  target: string;
  first_registered_at: number;
  registered_at: number;
  live_at: number | null;
  removed_at: number | null;
  removed_reason: string | null;
  /** Parker: the node's ranges, comma-separated; null in batman-adv domains. */
  allowed_ips: string | null;
  /** The gateway that reported the key as found on its interface (adoption), if that is how the edge learned of it. */
  adopted_by: string | null;
  adopted_at: number | null;
}

export const stateOf = (row: Pick<RegistrationRow, "target" | "removed_at" | "allowed_ips">): RegistrationState =>
  row.allowed_ips === null
    ? { target: row.target, removed: row.removed_at !== null }
    : { target: row.target, removed: row.removed_at !== null, allowedIps: row.allowed_ips.split(",") };

/**
 * SQL for "the row concerns gateway ?": everyone, that one, or one of Parker's list. The
 * list test runs only for targets with a comma, so batman-adv domains pay nothing for it.
 */
const TARGETS =
  "(target = ? OR target = ? OR (instr(target, ',') > 0 AND instr(',' || target || ',', ',' || ? || ',') > 0))";

/**
 * The SQL of `registrations`, the desired peer set as a compacted log: one row per key,
 * carrying the seq of its latest change. Only ChangeLog holds one; everybody else reads it
 * through `ChangeLog.read()`, which commits first.
 */
export class RegistrationsTable {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
  }

  /** Highest seq ever handed out: the live rows' maximum, or what purging remembered. */
  headSeq(): number {
    const live = firstRow<{ s: number | null }>(this.sql, "SELECT MAX(seq) AS s FROM registrations")?.s ?? 0;
    return Math.max(live, this.purgedSeq());
  }

  purgedSeq(): number {
    return Number(firstRow<{ value: number }>(this.sql, "SELECT value FROM meta WHERE key = 'purged_seq'")?.value ?? 0);
  }

  registration(publicKey: string): RegistrationRow | undefined {
    return firstRow<RegistrationRow>(this.sql, "SELECT * FROM registrations WHERE public_key = ?", publicKey);
  }

  /** Store a change of a key with its new seq (insert, re-target, revive or remove). */
  write(row: RegistrationRow): void {
    this.sql.exec(
      `INSERT INTO registrations (public_key, seq, target, first_registered_at, registered_at, live_at, removed_at, removed_reason, allowed_ips, adopted_by, adopted_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (public_key) DO UPDATE SET seq = excluded.seq, target = excluded.target,
         registered_at = excluded.registered_at, live_at = excluded.live_at,
         removed_at = excluded.removed_at, removed_reason = excluded.removed_reason,
         allowed_ips = excluded.allowed_ips, adopted_by = excluded.adopted_by, adopted_at = excluded.adopted_at`,
      row.public_key,
      row.seq,
      row.target,
      row.first_registered_at,
      row.registered_at,
      row.live_at,
      row.removed_at,
      row.removed_reason,
      row.allowed_ips,
      row.adopted_by,
      row.adopted_at,
    );
  }

  touch(publicKey: string, at: number): void {
    this.sql.exec("UPDATE registrations SET registered_at = ? WHERE public_key = ?", at, publicKey);
  }

  /**
   * Mark keys live (coarsely: only rows not marked within `staleBefore`), of those the
   * gateway should have. One statement per frame: a frame of 1,000 keys is one query.
   */
  markLive(keys: readonly string[], gateway: string, at: number, staleBefore: number): number {
    return this.sql.exec(
      `UPDATE registrations SET live_at = ? WHERE public_key IN (SELECT value FROM json_each(?))
       AND removed_at IS NULL AND (live_at IS NULL OR live_at < ?) AND ${TARGETS}`,
      at,
      JSON.stringify(keys),
      staleBefore,
      ALL_GATEWAYS,
      gateway,
      gateway,
    ).rowsWritten;
  }

  /** Changes after `since`, ascending, one page. */
  changesAfter(since: number, limit: number): RegistrationRow[] {
    return rows(this.sql, "SELECT * FROM registrations WHERE seq > ? ORDER BY seq LIMIT ?", since, limit);
  }

  /** The desired set of one gateway, one page after `afterSeq`. */
  desiredPage(
    gateway: string,
    afterSeq: number,
    limit: number,
  ): Array<{ public_key: string; seq: number; allowed_ips: string | null }> {
    return rows(
      this.sql,
      `SELECT public_key, seq, allowed_ips FROM registrations
       WHERE removed_at IS NULL AND ${TARGETS} AND seq > ? ORDER BY seq LIMIT ?`,
      ALL_GATEWAYS,
      gateway,
      gateway,
      afterSeq,
      limit,
    );
  }

  /** Keys neither registered nor live since `before`. */
  expired(before: number, limit: number): RegistrationRow[] {
    return rows(
      this.sql,
      `SELECT * FROM registrations WHERE removed_at IS NULL AND registered_at < ?
       AND (live_at IS NULL OR live_at < ?) ORDER BY seq LIMIT ?`,
      before,
      before,
      limit,
    );
  }

  /** Drop tombstones removed before `before`, remembering the highest seq dropped. */
  purgeTombstones(before: number): number {
    const max = firstRow<{ s: number | null }>(
      this.sql,
      "SELECT MAX(seq) AS s FROM registrations WHERE removed_at IS NOT NULL AND removed_at < ?",
      before,
    )?.s;
    if (max === null || max === undefined) return 0;
    const purged = this.sql.exec(
      "DELETE FROM registrations WHERE removed_at IS NOT NULL AND removed_at < ?",
      before,
    ).rowsWritten;
    this.sql.exec(
      "INSERT INTO meta (key, value) VALUES ('purged_seq', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      Math.max(this.purgedSeq(), max),
    );
    return purged;
  }

  /**
   * Changes after `seq` that concern a gateway: what it has yet to acknowledge, counted up to
   * `cap` (a gateway that is far behind would otherwise cost a scan of the whole log).
   */
  pendingFor(gateway: string, seq: number, cap: number): number {
    return (
      firstRow<{ n: number }>(
        this.sql,
        `SELECT COUNT(*) AS n FROM (SELECT 1 FROM registrations WHERE seq > ? AND ${TARGETS} LIMIT ?)`,
        seq,
        ALL_GATEWAYS,
        gateway,
        gateway,
        cap,
      )?.n ?? 0
    );
  }

  /** Active keys by the gateway that adopted them (keys nodes registered are not counted). */
  adoptedCounts(): Map<string, number> {
    return new Map(
      rows<{ adopted_by: string; n: number }>(
        this.sql,
        "SELECT adopted_by, COUNT(*) AS n FROM registrations WHERE adopted_by IS NOT NULL AND removed_at IS NULL GROUP BY adopted_by",
      ).map((r) => [r.adopted_by, r.n]),
    );
  }

  /** Active adopted keys, one page after `afterKey` (in key order), optionally of one gateway. */
  adoptedPage(gateway: string | undefined, afterKey: string, limit: number): RegistrationRow[] {
    return rows(
      this.sql,
      `SELECT * FROM registrations WHERE adopted_by IS NOT NULL AND removed_at IS NULL
       AND (? IS NULL OR adopted_by = ?) AND public_key > ? ORDER BY public_key LIMIT ?`,
      gateway ?? null,
      gateway ?? null,
      afterKey,
      limit,
    );
  }

  counts(): { active: number; removed: number } {
    const row = firstRow<{ active: number; removed: number }>(
      this.sql,
      "SELECT SUM(removed_at IS NULL) AS active, SUM(removed_at IS NOT NULL) AS removed FROM registrations",
    );
    return { active: row?.active ?? 0, removed: row?.removed ?? 0 };
  }
}
