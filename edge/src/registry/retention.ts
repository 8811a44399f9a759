import { type BufferedCounters, HOUR_MS, hourOf } from "../stats/hourly-counters.ts";
import type { GatewayBook } from "./gateways/gateway-book.ts";
import type { KeyEvents } from "./gateways/key-events.ts";
import type { ChangeLog } from "./log/change-log.ts";

const PAGE = 1000;
/** Status counts are kept for 8 days (the page shows one). */
const STATS_KEPT_HOURS = 24 * 8;

export interface RetentionDeps {
  retentionHours: number;
  log: ChangeLog;
  gateways: GatewayBook;
  events: KeyEvents;
  counters: BufferedCounters;
}

/**
 * Retention: keys nobody registered or saw live for `retention_hours` become tombstones
 * (fanned out as removals), tombstones older than that are purged, then old acks, agents'
 * reports and status counts.
 */
export class Retention {
  private readonly deps: RetentionDeps;

  constructor(deps: RetentionDeps) {
    this.deps = deps;
  }

  /** How often the alarm sweeps: a quarter of retention, at most hourly. */
  get intervalMs(): number {
    return Math.min(HOUR_MS, this.retentionMs / 4);
  }

  sweep(now: number): { removed: number; purged: number } {
    const { log, gateways, events, counters } = this.deps;
    const cutoff = now - this.retentionMs;
    let removed = 0;
    for (;;) {
      // read() commits the previous page's removals, so a page never sees them again.
      const expired = log.read().expired(cutoff, PAGE);
      for (const row of expired) log.retire(row.public_key, "retention", now);
      removed += expired.length;
      if (expired.length < PAGE) break;
    }
    const purged = log.purge(cutoff);
    gateways.read().pruneAcks(cutoff);
    events.prune(cutoff);
    counters.read().prune(hourOf(now) - STATS_KEPT_HOURS);
    return { removed, purged };
  }

  private get retentionMs(): number {
    return this.deps.retentionHours * HOUR_MS;
  }
}
