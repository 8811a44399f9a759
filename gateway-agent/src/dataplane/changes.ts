import type { PeerEntry } from "@wgkex-edge/shared";

/** Pure plans for what the edge sends: a batch of changes, or the full desired set. */

export interface BatchPlan {
  readonly adds: string[];
  readonly removes: string[];
  /** The highest seq of the batch: what its ack acknowledges. */
  readonly seq: number;
}

/**
 * Entries in seq order, the last op per key wins. Static peers (the other gateways) are
 * configured, not registered: an entry for one changes nothing.
 */
export function planBatch(entries: readonly PeerEntry[], staticKeys: ReadonlySet<string>): BatchPlan {
  const ordered = [...entries].sort((a, b) => a.seq - b.seq);
  const final = new Map<string, "add" | "remove">();
  for (const e of ordered) final.set(e.public_key, e.op);
  const adds: string[] = [];
  const removes: string[] = [];
  for (const [key, op] of final) {
    if (staticKeys.has(key)) continue;
    (op === "add" ? adds : removes).push(key);
  }
  return { adds, removes, seq: ordered[ordered.length - 1]?.seq ?? 0 };
}

export interface SnapshotPlan {
  /** Every listed key (installing is idempotent, and repairs a half-installed peer). */
  readonly install: string[];
  /** Installed peers the snapshot does not list, static peers excepted. */
  readonly remove: string[];
  /** Listed keys that were not installed: their grace period starts now. */
  readonly fresh: ReadonlySet<string>;
}

export function planSnapshot(
  keys: readonly string[],
  installed: readonly string[],
  staticKeys: ReadonlySet<string>,
): SnapshotPlan {
  const desired = new Set(keys.filter((k) => !staticKeys.has(k)));
  const present = new Set(installed);
  return {
    install: [...desired],
    remove: installed.filter((k) => !desired.has(k) && !staticKeys.has(k)),
    fresh: new Set([...desired].filter((k) => !present.has(k))),
  };
}
