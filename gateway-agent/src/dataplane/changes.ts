import type { PeerEntry } from "@wgkex-edge/shared";
import type { Failure } from "./peers.ts";

/** Pure plans for what the edge sends: a batch of changes, or the full desired set. */

/** Keys the edge may send that this gateway must never install as node peers. */
export interface ReservedKeys {
  /** Static peers (the other gateways): configured, not registered. */
  readonly staticKeys: ReadonlySet<string>;
  /** This gateway's own public key for the domain (once provisioned). */
  readonly ownKey?: string | undefined;
}

export const ownKeyFailure = (key: string): Failure => ({
  public_key: key,
  reason:
    "refused: this is the gateway's own WireGuard public key for the domain; a node cannot use it (the node must generate its own key)",
});

export interface BatchPlan {
  readonly adds: string[];
  readonly removes: string[];
  /** Entries not applied, with the reason: reported in the ack's `failed`. */
  readonly refused: Failure[];
  /** Parker: the ranges of each added key, as its entry carried them. */
  readonly ranges: ReadonlyMap<string, readonly string[]>;
  /** The highest seq of the batch: what its ack acknowledges. */
  readonly seq: number;
}

/** An entry the agent cannot apply (an op it does not know): reported failed with its reason. */
export interface UnappliedEntry {
  readonly seq: number;
  readonly public_key: string;
  readonly reason: string;
}

/**
 * Entries in seq order, the last op per key wins; an entry the agent cannot apply counts as
 * the key's last op too (its earlier ops in the batch are moot) and is refused with its
 * reason, so the ack that covers its seq says it was not applied. Static peers (the other
 * gateways) are configured, not registered: an entry for one changes nothing. The gateway's
 * own key is refused (installing it would route the gateway's own address to itself).
 */
export function planBatch(
  entries: readonly PeerEntry[],
  reserved: ReservedKeys,
  unapplied: readonly UnappliedEntry[] = [],
): BatchPlan {
  const ordered = [...entries, ...unapplied].sort((a, b) => a.seq - b.seq);
  const final = new Map<string, PeerEntry | UnappliedEntry>();
  const ranges = new Map<string, readonly string[]>();
  for (const e of ordered) {
    final.set(e.public_key, e);
    if ("op" in e && e.op === "add" && e.allowed_ips !== undefined) ranges.set(e.public_key, e.allowed_ips);
    else ranges.delete(e.public_key);
  }
  const adds: string[] = [];
  const removes: string[] = [];
  const refused: Failure[] = [];
  for (const [key, e] of final) {
    if ("reason" in e) refused.push({ public_key: key, reason: e.reason });
    else if (reserved.staticKeys.has(key)) continue;
    else if (key === reserved.ownKey) {
      if (e.op === "add") refused.push(ownKeyFailure(key));
    } else (e.op === "add" ? adds : removes).push(key);
  }
  return { adds, removes, refused, ranges, seq: ordered[ordered.length - 1]?.seq ?? 0 };
}

export interface SnapshotPlan {
  /** The edge's keys for this gateway: every one is installed (idempotent; repairs half-installed peers). */
  readonly install: string[];
  /** Keys the edge gave before and no longer lists: the edge removed them. */
  readonly remove: string[];
  /** Listed keys that were not installed: their grace period starts now. */
  readonly fresh: ReadonlySet<string>;
  /** Installed peers nobody asked for (not the edge's, not adopted, not static): kept, never removed here. */
  readonly foreign: string[];
  /** Listed keys refused (the gateway's own key). */
  readonly refused: Failure[];
}

/**
 * The edge's whole set for this gateway, against what it gave before. Only what the edge
 * itself gave and no longer lists is removed; a peer the edge never gave (installed by
 * hand, by wgkex's worker, adopted) stays, however the snapshot reads.
 */
export function planSnapshot(
  keys: readonly string[],
  context: ReservedKeys & {
    /** The edge's keys as last applied (the desired set's edge part before this snapshot). */
    readonly previous: ReadonlySet<string>;
    /** Kept although the edge does not list them (adopted keys). */
    readonly adopted: ReadonlySet<string>;
    /** Peers on the WireGuard interface now. */
    readonly installed: readonly string[];
  },
): SnapshotPlan {
  const { staticKeys, ownKey, previous, adopted } = context;
  const refused: Failure[] = [];
  const desired = new Set<string>();
  for (const key of keys) {
    if (staticKeys.has(key)) continue;
    if (key === ownKey) refused.push(ownKeyFailure(key));
    else desired.add(key);
  }
  const present = new Set(context.installed);
  const kept = (k: string) => desired.has(k) || staticKeys.has(k) || adopted.has(k) || k === ownKey;
  return {
    install: [...desired],
    remove: [...previous].filter((k) => !kept(k)),
    fresh: new Set([...desired].filter((k) => !present.has(k))),
    foreign: context.installed.filter((k) => !kept(k) && !previous.has(k)),
    refused,
  };
}
