import { DurableObject } from "cloudflare:workers";
import { type Migration, migrate } from "../storage/migrate.ts";
import { HOURLY_COUNTERS_SCHEMA, HourlyCounters, hourOf } from "./hourly-counters.ts";

const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "hourly and total rejection counts", sql: HOURLY_COUNTERS_SCHEMA },
];

/**
 * Rejections the Worker answers itself (invalid requests, address rate limit, oversized
 * bodies) never reach a domain's object; isolates count them in memory and add them here
 * at most every few seconds, so a flood of garbage costs no storage write per request.
 */
export class EdgeStats extends DurableObject<unknown> {
  private readonly counters: HourlyCounters;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    migrate(ctx.storage.sql, Date.now(), MIGRATIONS);
    this.counters = new HourlyCounters(ctx.storage.sql);
  }

  add(counts: Record<string, number>, at: number): void {
    this.counters.add(Object.entries(counts), at);
    this.counters.prune(hourOf(at) - 24 * 8);
  }

  snapshot(now = Date.now()): { last_day: Record<string, number>; totals: Record<string, number> } {
    return { last_day: this.counters.sumsSince(hourOf(now) - 23), totals: this.counters.totals() };
  }
}
