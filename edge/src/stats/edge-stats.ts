import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env.ts";
import { type Migration, migrate } from "../registry/migrations.ts";

const HOUR = 3_600_000;

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "hourly and total rejection counts",
    sql: `
      CREATE TABLE hourly_stats (hour INTEGER NOT NULL, kind TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (hour, kind)) WITHOUT ROWID;
      CREATE TABLE counters (kind TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
    `,
  },
];

/**
 * Rejections the Worker answers itself (invalid requests, address rate limit, oversized
 * bodies) never reach a domain's object; isolates count them in memory and add them here
 * at most every few seconds, so a flood of garbage costs no storage write per request.
 */
export class EdgeStats extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage.sql, Date.now(), MIGRATIONS);
  }

  add(counts: Record<string, number>, at: number): void {
    const hour = Math.floor(at / HOUR);
    for (const [kind, n] of Object.entries(counts)) {
      this.ctx.storage.sql.exec(
        "INSERT INTO hourly_stats (hour, kind, count) VALUES (?, ?, ?) ON CONFLICT (hour, kind) DO UPDATE SET count = count + excluded.count",
        hour,
        kind,
        n,
      );
      this.ctx.storage.sql.exec(
        "INSERT INTO counters (kind, count) VALUES (?, ?) ON CONFLICT (kind) DO UPDATE SET count = count + excluded.count",
        kind,
        n,
      );
    }
    this.ctx.storage.sql.exec("DELETE FROM hourly_stats WHERE hour < ?", hour - 24 * 8);
  }

  snapshot(now = Date.now()): { last_day: Record<string, number>; totals: Record<string, number> } {
    const fromHour = Math.floor(now / HOUR) - 23;
    const lastDay: Record<string, number> = {};
    for (const row of this.ctx.storage.sql.exec<{ kind: string; n: number }>(
      "SELECT kind, SUM(count) AS n FROM hourly_stats WHERE hour >= ? GROUP BY kind",
      fromHour,
    )) {
      lastDay[row.kind] = row.n;
    }
    const totals: Record<string, number> = {};
    for (const row of this.ctx.storage.sql.exec<{ kind: string; count: number }>("SELECT kind, count FROM counters")) {
      totals[row.kind] = row.count;
    }
    return { last_day: lastDay, totals };
  }
}
