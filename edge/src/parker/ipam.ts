/**
 * Parker's IPAM rules, pure: who gets a new allocation, and which allocations expire.
 * The domain's object holds the allocations (parker-store.ts) and applies these rules in
 * the same synchronous step as the write, so two requests can never get the same index.
 *
 * Neither reference server frees anything or limits anyone, so one stranger with random
 * keys exhausts the pool (parker-facts §6). The defences, in the order they are checked:
 *   1. a known key keeps its allocation, whatever the load (existing nodes never suffer);
 *   2. per source (IPv4 address or IPv6 /64): `new_per_source` per window;
 *   3. over all sources: `new_per_hour` in any sliding hour;
 *   4. allocations that never saw a handshake may fill at most `max_unconfirmed_percent`
 *      of the pool, and are freed after `unconfirmed_h`: only keys whose owner completes a
 *      WireGuard handshake (proof of possession) hold an allocation for long;
 *   5. the pool itself: full is full.
 * Every refusal is answered with the clients' own "come back later": a signed answer
 * without `id` and a long `retry`, so the router changes nothing and does not hammer.
 */
export interface AllocationRow {
  public_key: string;
  idx: number;
  /** Keyed hash of the client address (IPv4 or IPv6 /64) that caused the allocation; '' after the window. */
  source: string;
  allocated_at: number;
  /** Last config request of the node. */
  requested_at: number;
  /** Last handshake any concentrator reported; null = never (unconfirmed). */
  handshake_at: number | null;
  /** Names of the concentrators the node was last given, comma-separated, by id. */
  concentrators: string;
}

export interface IpamLimits {
  readonly newPerSource: number;
  readonly newPerSourceWindowMs: number;
  readonly newPerHour: number;
  readonly maxUnconfirmed: number;
  readonly capacity: number;
}

/** What the store counts for one admission decision. */
export interface AdmissionCounts {
  /** New allocations of this source within its window. */
  readonly fromSource: number;
  /** New allocations of everyone within the last hour. */
  readonly lastHour: number;
  readonly unconfirmed: number;
  readonly used: number;
}

export type Refusal = "source-limit" | "rate-limit" | "unconfirmed-limit" | "pool-full";

export function admitNew(counts: AdmissionCounts, limits: IpamLimits): Refusal | undefined {
  if (counts.fromSource >= limits.newPerSource) return "source-limit";
  if (counts.lastHour >= limits.newPerHour) return "rate-limit";
  if (counts.used >= limits.capacity) return "pool-full";
  if (counts.unconfirmed >= limits.maxUnconfirmed) return "unconfirmed-limit";
  return undefined;
}

/** The unconfirmed share of the pool as a count: never zero, so a new network can start. */
export const maxUnconfirmed = (capacity: number, percent: number): number =>
  Math.max(1, Math.floor((capacity * percent) / 100));

export interface ExpiryRules {
  readonly unconfirmedMs: number;
  readonly idleMs: number;
}

/** Why an allocation is freed at `now`, or undefined while it is kept. */
export function expiryReason(row: AllocationRow, now: number, rules: ExpiryRules): string | undefined {
  if (row.handshake_at === null) {
    return now - row.allocated_at >= rules.unconfirmedMs ? "parker: no handshake since allocation" : undefined;
  }
  return now - row.handshake_at >= rules.idleMs ? "parker: no handshake for too long" : undefined;
}

/**
 * The `retry` a node is told: the configured interval spread upwards by up to `jitter`
 * percent, so nodes that came up together (a power cut, a broker outage) drift apart
 * instead of asking in lockstep forever (the clients add no jitter of their own).
 */
export function retrySeconds(base: number, jitterPercent: number, random: () => number = Math.random): number {
  return Math.round(base * (1 + (random() * jitterPercent) / 100));
}

export const concentratorList = (row: Pick<AllocationRow, "concentrators"> | undefined): string[] =>
  row === undefined || row.concentrators === "" ? [] : row.concentrators.split(",");
