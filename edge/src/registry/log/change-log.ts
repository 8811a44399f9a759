import { ALL_GATEWAYS, type Change } from "./peer-ops.ts";
import { type RegistrationRow, RegistrationsTable, stateOf } from "./registrations-table.ts";

/** What may be read of the log: only committed rows, so only through `ChangeLog.read()`. */
export type CommittedLog = Pick<
  RegistrationsTable,
  | "registration"
  | "changesAfter"
  | "desiredPage"
  | "expired"
  | "purgedSeq"
  | "pendingFor"
  | "adoptedCounts"
  | "adoptedPage"
>;

/** Active keys and tombstones in the log. */
export interface LogCounts {
  active: number;
  removed: number;
}

/**
 * The domain's desired peer set as a log of changes with sequence numbers, and its group
 * commit. A decided change is staged; staged changes are written together in one
 * transaction (one durable write per batch instead of one per request), then handed to
 * `onCommitted` (the fan-out), then their waiters resume. The output gate holds the waiters'
 * answers and the frames until the write is durable, so "200" still means "stored".
 *
 * Rules that live here, not in the callers:
 * - commit before read: `read()` commits whatever is staged before it returns the table,
 *   so no reader sees a log that misses a change somebody was already promised;
 * - a failed write rejects every waiter of its batch (also when a reader's commit ran it),
 *   and nothing of the batch is kept or sent.
 */
export class ChangeLog {
  private readonly table: RegistrationsTable;
  private readonly storage: DurableObjectStorage;
  private readonly onCommitted: (changes: readonly Change[]) => void;
  private headSeq: number;
  private committedSeq: number;
  private staged: Array<{ row: RegistrationRow; change: Change }> = [];
  private waiters: PromiseWithResolvers<void> | undefined;
  /** Staged rows by key: the decision view of a key that changed in this batch. */
  private readonly uncommitted = new Map<string, RegistrationRow>();
  /** Counted once when first asked (a scan), then kept by every commit and purge. */
  private counted: LogCounts | undefined;

  constructor(storage: DurableObjectStorage, onCommitted: (changes: readonly Change[]) => void) {
    this.storage = storage;
    this.table = new RegistrationsTable(storage.sql);
    this.onCommitted = onCommitted;
    this.headSeq = this.table.headSeq();
    this.committedSeq = this.headSeq;
  }

  /** Highest seq handed out, staged changes included. */
  get head(): number {
    return this.headSeq;
  }

  /** Highest seq written: the most any gateway can have been sent, so the most it may acknowledge. */
  get committedHead(): number {
    return this.committedSeq;
  }

  /** A key as decided so far (staged changes included): what the next decision builds on. */
  latest(publicKey: string): RegistrationRow | undefined {
    return this.uncommitted.get(publicKey) ?? this.table.registration(publicKey);
  }

  /**
   * A key as last committed, staged changes left out (and left staged): what an agent's
   * report refers to, since agents hear only of committed changes.
   */
  committed(publicKey: string): RegistrationRow | undefined {
    return this.table.registration(publicKey);
  }

  /** Stage a change and wait for its group commit: resolves once the write ran. */
  append(next: Omit<RegistrationRow, "seq">, before: RegistrationRow | undefined): Promise<void> {
    this.stage(next, before);
    if (this.waiters === undefined) {
      this.waiters = Promise.withResolvers<void>();
      setTimeout(() => {
        try {
          this.commit();
        } catch {
          // the waiters were rejected with the error
        }
      }, 0);
    }
    return this.waiters.promise;
  }

  /**
   * Stage a change without a waiter: for changes decided outside a request (adoption), which
   * the caller commits itself (or the next group commit takes along).
   */
  stageChange(next: Omit<RegistrationRow, "seq">, before: RegistrationRow | undefined): void {
    this.stage(next, before);
  }

  /** Stage the removal of an active key (a tombstone with a new seq); false if not active. */
  retire(publicKey: string, reason: string, now: number): boolean {
    const existing = this.latest(publicKey);
    if (existing === undefined || existing.removed_at !== null) return false;
    this.stage({ ...existing, removed_at: now, removed_reason: reason }, existing);
    return true;
  }

  /**
   * Stage the removal of a key the edge does not have but a gateway reported finding (a
   * denied key wgkex had installed): a tombstone whose change is a remove for every gateway,
   * as if each had been given the key, since any of them may have it. A key the edge never
   * had gets that gateway as its origin. False if it is active.
   */
  retireFound(publicKey: string, gateway: string, reason: string, now: number): boolean {
    const existing = this.latest(publicKey);
    if (existing !== undefined && existing.removed_at === null) return false;
    const tombstone: Omit<RegistrationRow, "seq"> = {
      public_key: publicKey,
      target: ALL_GATEWAYS,
      first_registered_at: existing?.first_registered_at ?? now,
      registered_at: existing?.registered_at ?? now,
      live_at: null,
      removed_at: now,
      removed_reason: reason,
      allowed_ips: null,
      adopted_by: existing ? existing.adopted_by : gateway,
      adopted_at: existing ? existing.adopted_at : now,
    };
    this.stage(tombstone, { ...tombstone, seq: 0, removed_at: null });
    return true;
  }

  /**
   * Write the staged changes in one transaction, hand them to the fan-out and release
   * their waiters. If the write fails, every waiter gets the error and so does the caller.
   */
  commit(): void {
    const batch = this.staged;
    const waiters = this.waiters;
    this.staged = [];
    this.waiters = undefined;
    try {
      if (batch.length > 0) {
        this.storage.transactionSync(() => {
          for (const { row } of batch) this.table.write(row);
        });
      }
    } catch (error) {
      waiters?.reject(error);
      throw error;
    } finally {
      for (const { row } of batch)
        if (this.uncommitted.get(row.public_key) === row) this.uncommitted.delete(row.public_key);
    }
    if (batch.length > 0) {
      this.committedSeq = batch.at(-1)!.row.seq;
      const changes = batch.map((b) => b.change);
      if (this.counted) this.counted = countAfter(this.counted, changes);
      this.onCommitted(changes);
    }
    waiters?.resolve();
  }

  /** The committed log; commits first, so nothing staged is missing from it. */
  read(): CommittedLog {
    this.commit();
    return this.table;
  }

  /** Active keys and tombstones, without a scan per call (the status endpoints ask often). */
  counts(): LogCounts {
    if (this.counted === undefined) {
      this.commit();
      this.counted = this.table.counts();
    }
    return { ...this.counted };
  }

  /** Drop tombstones removed before `before` (retention); returns how many. */
  purge(before: number): number {
    this.commit();
    const purged = this.table.purgeTombstones(before);
    if (this.counted) this.counted = { ...this.counted, removed: this.counted.removed - purged };
    return purged;
  }

  /**
   * Refresh when a known key was last registered. Not a change (no seq, no fan-out), so it
   * skips the group commit; a staged row of the key carries the same time anyway.
   */
  touch(publicKey: string, at: number): void {
    this.table.touch(publicKey, at);
  }

  /** Note that a gateway saw keys live (retention keeps them), of those it should have. Not a change either. */
  markLive(keys: readonly string[], gateway: string, at: number, staleBefore: number): void {
    this.table.markLive(keys, gateway, at, staleBefore);
  }

  private stage(next: Omit<RegistrationRow, "seq">, before: RegistrationRow | undefined): void {
    const row: RegistrationRow = { ...next, seq: ++this.headSeq };
    this.uncommitted.set(row.public_key, row);
    this.staged.push({
      row,
      change: { seq: row.seq, publicKey: row.public_key, before: before && stateOf(before), after: stateOf(row) },
    });
  }
}

/** Counts after committed changes: each moves a key into, out of or between active and removed. */
export function countAfter(counts: LogCounts, changes: readonly Change[]): LogCounts {
  let { active, removed } = counts;
  for (const { before, after } of changes) {
    if (before !== undefined) {
      if (before.removed) removed--;
      else active--;
    }
    if (after.removed) removed++;
    else active++;
  }
  return { active, removed };
}
