import { type AddressVariant, isPublicKey, linkLocal } from "@wgkex-edge/shared";
import type { WgPeer } from "./observe.ts";

/**
 * Adoption: peers on the interface that the edge did not give (a wgkex gateway taken over,
 * a peer set by hand). Whatever happens here, nothing is removed: a foreign peer stays until
 * the stale cleanup takes it by the usual rules. Adopting means more: the peer becomes
 * desired (reconcile puts it back when it is lost) and is reported to the edge, which makes
 * it a registration for every gateway.
 */
export interface AdoptionContext {
  readonly variant: AddressVariant;
  /** Other gateways (static peers of each other): configured, never adopted. */
  readonly staticKeys: ReadonlySet<string>;
  /** This gateway's own key for the domain: never a node. */
  readonly ownKey: string | undefined;
  /** Keys the edge gave: not foreign. */
  readonly edge: ReadonlySet<string>;
  /** Keys adopted before and not yet sent back by the edge: reported again. */
  readonly adopted: ReadonlySet<string>;
}

export interface AdoptionPolicy {
  /** A handshake older than this is stale (the cleanup's `stale_after_s`): not adopted. */
  readonly staleAfterS: number;
  /** At most this many keys reported per pass (the edge bounds what it takes anyway). */
  readonly maxReport: number;
}

export interface AdoptionPlan {
  /** Foreign peers adopted now: desired from now on. */
  readonly adopt: string[];
  /** Keys to report this pass: the adopted ones the edge has not sent back, the new ones first. */
  readonly report: string[];
  /** Foreign peers left as they are (kept, not adopted), by reason. */
  readonly skipped: {
    /** Last handshake older than the stale limit: the stale cleanup decides. */
    readonly stale: string[];
    /** Never handshaked: the grace period, then the stale cleanup, decide. */
    readonly never: string[];
    /** allowed-ips other than the key's own link-local /128: not a node as wgkex installs one. */
    readonly notNode: string[];
    /** Not a canonical public key: never reported. */
    readonly invalid: string[];
  };
}

/**
 * Pure: which foreign peers to adopt and what to report. A peer is adopted when it looks
 * like a node wgkex installed (allowed-ips exactly its own `<ll>/128`) and had a handshake
 * within the stale limit: a live router, whose tunnel must not drop because the edge has
 * not heard of it yet. `now` in ms, handshakes in s (as `wg` prints them).
 */
export function planAdoption(
  peers: readonly WgPeer[],
  now: number,
  context: AdoptionContext,
  policy: AdoptionPolicy,
): AdoptionPlan {
  const adopt: string[] = [];
  const skipped = { stale: [] as string[], never: [] as string[], notNode: [] as string[], invalid: [] as string[] };
  const nowS = now / 1000;
  for (const peer of peers) {
    const key = peer.key;
    if (context.edge.has(key) || context.adopted.has(key)) continue;
    if (context.staticKeys.has(key) || key === context.ownKey) continue;
    if (!isPublicKey(key)) {
      skipped.invalid.push(key);
      continue;
    }
    if (peer.allowedIps.length !== 1 || peer.allowedIps[0] !== `${linkLocal(key, context.variant)}/128`) {
      skipped.notNode.push(key);
      continue;
    }
    if (peer.latestHandshake <= 0) skipped.never.push(key);
    else if (nowS - peer.latestHandshake > policy.staleAfterS) skipped.stale.push(key);
    else adopt.push(key);
  }
  const earlier = [...context.adopted].filter((k) => !context.edge.has(k) && isPublicKey(k));
  return { adopt, report: [...adopt, ...earlier].slice(0, policy.maxReport), skipped };
}
