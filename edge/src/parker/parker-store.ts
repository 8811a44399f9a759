import { sourceTag, toHex } from "@wgkex-edge/shared/parker";
import { rows } from "../storage/sql.ts";
import type { AdmissionCounts, AllocationRow } from "./ipam.ts";

/**
 * Parker's tables in the Parker domain's object. Appended to the object's migrations;
 * other domains have the (empty) tables too, which costs nothing.
 */
export const PARKER_MIGRATION_SQL = `
  -- One row per node key: its stable allocation index and what it was last given. source is
  -- a keyed hash of the client address (IPv4 or /64), blanked once the per-source window passed.
  CREATE TABLE parker_allocations (
    public_key TEXT PRIMARY KEY,
    idx INTEGER NOT NULL UNIQUE,
    source TEXT NOT NULL,
    allocated_at INTEGER NOT NULL,
    requested_at INTEGER NOT NULL,
    handshake_at INTEGER,
    concentrators TEXT NOT NULL DEFAULT ''
  ) WITHOUT ROWID;
  CREATE INDEX parker_allocations_source ON parker_allocations (source, allocated_at);
  CREATE INDEX parker_allocations_allocated ON parker_allocations (allocated_at);
  CREATE INDEX parker_allocations_unconfirmed ON parker_allocations (allocated_at) WHERE handshake_at IS NULL;
  CREATE INDEX parker_allocations_handshake ON parker_allocations (handshake_at) WHERE handshake_at IS NOT NULL;
`;

/** Every SQL statement of the IPAM; synchronous, so a decision and its write are atomic. */
export class ParkerStore {
  private readonly sql: SqlStorage;
  private salt: string | undefined;

  constructor(sql: SqlStorage) {
    this.sql = sql;
  }

  /** The stored form of a client address: a keyed hash, the key random per object. */
  sourceTag(source: string): string {
    if (this.salt === undefined) {
      const stored = rows<{ value: string }>(this.sql, "SELECT value FROM meta WHERE key = 'parker_source_salt'")[0];
      this.salt = stored?.value ?? toHex(crypto.getRandomValues(new Uint8Array(16)));
      if (stored === undefined) {
        this.sql.exec("INSERT INTO meta (key, value) VALUES ('parker_source_salt', ?)", this.salt);
      }
    }
    return sourceTag(this.salt, source);
  }

  /** Forget which address caused allocations older than the per-source window. */
  forgetSources(before: number): void {
    this.sql.exec("UPDATE parker_allocations SET source = '' WHERE source != '' AND allocated_at <= ?", before);
  }

  private all<T>(query: string, ...bindings: unknown[]): T[] {
    return rows<T>(this.sql, query, ...bindings);
  }

  private count(query: string, ...bindings: unknown[]): number {
    return Number(this.all<{ n: number }>(query, ...bindings)[0]?.n ?? 0);
  }

  allocation(publicKey: string): AllocationRow | undefined {
    return this.all<AllocationRow>("SELECT * FROM parker_allocations WHERE public_key = ?", publicKey)[0];
  }

  byIndex(idx: number): AllocationRow | undefined {
    return this.all<AllocationRow>("SELECT * FROM parker_allocations WHERE idx = ?", idx)[0];
  }

  counts(source: string, now: number, sourceWindowMs: number): AdmissionCounts {
    return {
      fromSource: this.count(
        "SELECT COUNT(*) AS n FROM parker_allocations WHERE source = ? AND allocated_at > ?",
        source,
        now - sourceWindowMs,
      ),
      lastHour: this.count("SELECT COUNT(*) AS n FROM parker_allocations WHERE allocated_at > ?", now - 3_600_000),
      ...this.usage(),
    };
  }

  usage(): { used: number; unconfirmed: number } {
    const row = this.all<{ used: number; unconfirmed: number | null }>(
      "SELECT COUNT(*) AS used, SUM(handshake_at IS NULL) AS unconfirmed FROM parker_allocations",
    )[0];
    return { used: Number(row?.used ?? 0), unconfirmed: Number(row?.unconfirmed ?? 0) };
  }

  /** The lowest index in [first, first + capacity) nobody holds. */
  lowestFreeIndex(first: number, capacity: number): number | undefined {
    const end = first + capacity;
    const row = this.all<{ idx: number }>(
      `SELECT ? AS idx WHERE ? < ? AND NOT EXISTS (SELECT 1 FROM parker_allocations WHERE idx = ?)
       UNION ALL
       SELECT a.idx + 1 FROM parker_allocations AS a
       WHERE a.idx >= ? AND a.idx + 1 < ?
         AND NOT EXISTS (SELECT 1 FROM parker_allocations AS b WHERE b.idx = a.idx + 1)
       ORDER BY idx LIMIT 1`,
      first,
      first,
      end,
      first,
      first,
      end,
    )[0];
    return row?.idx;
  }

  insert(row: AllocationRow): void {
    this.sql.exec(
      `INSERT INTO parker_allocations (public_key, idx, source, allocated_at, requested_at, handshake_at, concentrators)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      row.public_key,
      row.idx,
      row.source,
      row.allocated_at,
      row.requested_at,
      row.handshake_at,
      row.concentrators,
    );
  }

  /** A node asked again: when, and which concentrators it now has. */
  touch(publicKey: string, at: number, concentrators: string): void {
    this.sql.exec(
      "UPDATE parker_allocations SET requested_at = ?, concentrators = ? WHERE public_key = ?",
      at,
      concentrators,
      publicKey,
    );
  }

  /** Handshakes reported by concentrators; coarse: rows marked since `staleBefore` are skipped. */
  confirm(keys: readonly string[], at: number, staleBefore: number): number {
    let written = 0;
    for (const key of keys) {
      // rowsWritten counts index entries too; RETURNING counts rows.
      written += this.sql
        .exec(
          "UPDATE parker_allocations SET handshake_at = ? WHERE public_key = ? AND (handshake_at IS NULL OR handshake_at < ?) RETURNING idx",
          at,
          key,
          staleBefore,
        )
        .toArray().length;
    }
    return written;
  }

  /** Allocations past their expiry: unconfirmed since `unconfirmedBefore`, idle since `idleBefore`. */
  expired(unconfirmedBefore: number, idleBefore: number, limit: number): AllocationRow[] {
    return this.all<AllocationRow>(
      `SELECT * FROM parker_allocations
       WHERE (handshake_at IS NULL AND allocated_at <= ?) OR (handshake_at IS NOT NULL AND handshake_at <= ?)
       ORDER BY idx LIMIT ?`,
      unconfirmedBefore,
      idleBefore,
      limit,
    );
  }

  release(publicKey: string): boolean {
    return (
      this.sql.exec("DELETE FROM parker_allocations WHERE public_key = ? RETURNING idx", publicKey).toArray().length > 0
    );
  }
}
