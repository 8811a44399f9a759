import { rows } from "../storage/sql.ts";

export const HOUR_MS = 3_600_000;
export const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS);

/**
 * The two tables HourlyCounters works on. An object adopting the counters creates them in
 * one of its migrations (DomainRegistry's migrations 1 and 2 created the same tables before
 * this constant existed; applied migrations are never edited).
 */
export const HOURLY_COUNTERS_SCHEMA = `
      CREATE TABLE hourly_stats (hour INTEGER NOT NULL, kind TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (hour, kind)) WITHOUT ROWID;
      CREATE TABLE counters (kind TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
    `;

/**
 * Counts by kind per hour (pruned: the status page's last hour and day) and since ever
 * (never pruned: Prometheus counters), in an object's SQLite. Used by DomainRegistry and
 * EdgeStats alike.
 */
export class HourlyCounters {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
  }

  add(counts: Iterable<readonly [string, number]>, at: number): void {
    const hour = hourOf(at);
    for (const [kind, n] of counts) {
      this.sql.exec(
        "INSERT INTO hourly_stats (hour, kind, count) VALUES (?, ?, ?) ON CONFLICT (hour, kind) DO UPDATE SET count = count + excluded.count",
        hour,
        kind,
        n,
      );
      this.sql.exec(
        "INSERT INTO counters (kind, count) VALUES (?, ?) ON CONFLICT (kind) DO UPDATE SET count = count + excluded.count",
        kind,
        n,
      );
    }
  }

  /** Per hour and kind, from `sinceHour` on. */
  perHour(sinceHour: number): Array<{ hour: number; kind: string; count: number }> {
    return rows(this.sql, "SELECT hour, kind, count FROM hourly_stats WHERE hour >= ? ORDER BY hour", sinceHour);
  }

  /** Per kind, summed from `sinceHour` on. */
  sumsSince(sinceHour: number): Record<string, number> {
    const sums: Record<string, number> = {};
    for (const row of rows<{ kind: string; n: number }>(
      this.sql,
      "SELECT kind, SUM(count) AS n FROM hourly_stats WHERE hour >= ? GROUP BY kind",
      sinceHour,
    )) {
      sums[row.kind] = row.n;
    }
    return sums;
  }

  totals(): Record<string, number> {
    return Object.fromEntries(
      rows<{ kind: string; count: number }>(this.sql, "SELECT kind, count FROM counters").map((r) => [r.kind, r.count]),
    );
  }

  prune(beforeHour: number): void {
    this.sql.exec("DELETE FROM hourly_stats WHERE hour < ?", beforeHour);
  }
}

/**
 * Counts kept in memory and written at most every `flushEveryMs`, instead of a write per
 * event, and without a timer: a pending timer would keep the object from hibernating. What
 * an eviction loses is at most the last few seconds of counts. Reading goes through
 * `read()`, which writes first, so nobody reads stale counts.
 */
export class BufferedCounters {
  private readonly counters: HourlyCounters;
  private readonly flushEveryMs: number;
  private buffered = new Map<string, number>();
  private flushedAt = Date.now();

  constructor(counters: HourlyCounters, flushEveryMs: number) {
    this.counters = counters;
    this.flushEveryMs = flushEveryMs;
  }

  count(kind: string, now = Date.now(), by = 1): void {
    this.buffered.set(kind, (this.buffered.get(kind) ?? 0) + by);
    if (now - this.flushedAt >= this.flushEveryMs) this.flush();
  }

  read(): HourlyCounters {
    this.flush();
    return this.counters;
  }

  private flush(): void {
    const now = Date.now();
    this.flushedAt = now;
    this.counters.add(this.buffered, now);
    this.buffered = new Map();
  }
}
