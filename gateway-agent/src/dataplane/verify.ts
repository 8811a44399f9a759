import { ownKeyFailure } from "./changes.ts";
import type { Failure } from "./peers.ts";
import type { PeerLayout, ReconcilePlan } from "./reconcile.ts";

/** The answer to the edge's `verify`: keys in place, keys installed again, keys that could not be. */
export interface VerifyOutcome {
  readonly ok: number;
  readonly repaired: string[];
  readonly failed: Failure[];
}

export const NOT_DESIRED =
  "not installed: this gateway never got this key from the edge (or removed it since); the edge sends it again at the node's next registration";
export const STATIC_PEER = "a static peer of this gateway (another gateway), not a node";

/**
 * Pure: what a reconcile pass (run because the edge asked) means for the keys asked about.
 * A key is repaired when the pass installed its peer, route or FDB entry and nothing of it
 * failed; a key the gateway does not have in its desired set is not installed from a
 * `verify` (only the ordered log gives keys) but reported, so the edge sends it again.
 */
export function verifyOutcome(
  keys: readonly string[],
  pass: { readonly plan?: ReconcilePlan; readonly failed?: readonly Failure[]; readonly error?: string },
  context: {
    readonly desired: (key: string) => boolean;
    readonly staticKeys: ReadonlySet<string>;
    readonly ownKey?: string | undefined;
    readonly layout: PeerLayout;
  },
): VerifyOutcome {
  const failedBy = new Map<string, string>();
  for (const f of pass.failed ?? []) if (!failedBy.has(f.public_key)) failedBy.set(f.public_key, f.reason);
  const installed = new Set(pass.plan?.installPeers ?? []);
  const routes = new Set(pass.plan?.addRoutes ?? []);
  const fdb = new Set(pass.plan?.addFdb ?? []);
  let ok = 0;
  const repaired: string[] = [];
  const failed: Failure[] = [];
  for (const key of new Set(keys)) {
    if (key === context.ownKey) failed.push(ownKeyFailure(key));
    else if (context.staticKeys.has(key)) failed.push({ public_key: key, reason: STATIC_PEER });
    else if (!context.desired(key)) failed.push({ public_key: key, reason: NOT_DESIRED });
    else if (pass.error !== undefined) failed.push({ public_key: key, reason: `not verified: ${pass.error}` });
    else {
      const needs = context.layout.needs(key);
      const parts = [key, ...needs.routes, ...needs.fdb];
      const failure = parts.map((p) => failedBy.get(p)).find((r) => r !== undefined);
      if (failure !== undefined) failed.push({ public_key: key, reason: failure });
      else if (installed.has(key) || needs.routes.some((r) => routes.has(r)) || needs.fdb.some((f) => fdb.has(f)))
        repaired.push(key);
      else ok++;
    }
  }
  return { ok, repaired, failed };
}
