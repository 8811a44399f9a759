import type { WgPeer } from "./observe.ts";

export interface CleanupPolicy {
  /** Remove a peer whose latest handshake is older than this. */
  readonly staleAfterS: number;
  /** A peer that never completed a handshake is removed this long after it was first seen. */
  readonly graceS: number;
}

export interface StaleDecision {
  readonly remove: Array<{ key: string; reason: string }>;
  /** Keys seen for the first time without a handshake: remember `now` for them. */
  readonly firstSeen: string[];
  /** Keys that have handshaked: their first-seen record is no longer needed. */
  readonly forget: string[];
}

/**
 * Pure stale-peer decision. `now` in milliseconds, handshakes in seconds (as `wg` prints).
 * Static peers (other gateways) are never removed.
 */
export function decideStale(
  peers: readonly WgPeer[],
  now: number,
  firstSeen: ReadonlyMap<string, number>,
  staticKeys: ReadonlySet<string>,
  policy: CleanupPolicy,
): StaleDecision {
  const remove: Array<{ key: string; reason: string }> = [];
  const fresh: string[] = [];
  const forget: string[] = [];
  const nowS = now / 1000;
  for (const peer of peers) {
    if (staticKeys.has(peer.key)) continue;
    if (peer.latestHandshake > 0) {
      if (firstSeen.has(peer.key)) forget.push(peer.key);
      const age = nowS - peer.latestHandshake;
      if (age > policy.staleAfterS) {
        remove.push({
          key: peer.key,
          reason: `stale: last handshake ${Math.round(age)} s ago (limit ${policy.staleAfterS} s)`,
        });
      }
      continue;
    }
    const seen = firstSeen.get(peer.key);
    if (seen === undefined) {
      fresh.push(peer.key);
    } else if (now - seen > policy.graceS * 1000) {
      remove.push({
        key: peer.key,
        reason: `stale: no handshake within ${policy.graceS} s of installation`,
      });
    }
  }
  return { remove, firstSeen: fresh, forget };
}

/** Node peers with a handshake within `windowS` seconds (static peers excluded). */
export function recentPeers(
  peers: readonly WgPeer[],
  now: number,
  windowS: number,
  staticKeys: ReadonlySet<string>,
): string[] {
  const nowS = now / 1000;
  return peers
    .filter((p) => !staticKeys.has(p.key) && p.latestHandshake > 0 && nowS - p.latestHandshake <= windowS)
    .map((p) => p.key);
}

export interface CleanupPlan {
  readonly remove: ReadonlyArray<{ key: string; reason: string }>;
  /** Keys whose grace period starts now. */
  readonly remember: readonly string[];
  /** first_seen records no longer needed: the peer handshaked or is not installed any more. */
  readonly forget: readonly string[];
}

/** `decideStale` plus the first_seen bookkeeping around it. */
export function planCleanup(
  peers: readonly WgPeer[],
  now: number,
  firstSeen: Readonly<Record<string, number>>,
  staticKeys: ReadonlySet<string>,
  policy: CleanupPolicy,
): CleanupPlan {
  const decision = decideStale(peers, now, new Map(Object.entries(firstSeen)), staticKeys, policy);
  const present = new Set(peers.map((p) => p.key));
  const gone = Object.keys(firstSeen).filter((key) => !present.has(key));
  return { remove: decision.remove, remember: decision.firstSeen, forget: [...decision.forget, ...gone] };
}

/** The figures of a `load` report: node peers with a recent handshake, and node peers installed. */
export function loadCounts(
  peers: readonly WgPeer[],
  now: number,
  windowS: number,
  staticKeys: ReadonlySet<string>,
): { connected: number; peers: number } {
  return {
    connected: recentPeers(peers, now, windowS, staticKeys).length,
    peers: peers.filter((p) => !staticKeys.has(p.key)).length,
  };
}
