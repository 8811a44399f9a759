import { type AddressVariant, linkLocal } from "@wgkex-edge/shared";
import { ZERO_MAC } from "../commands/builders.ts";
import { type FdbEntry, linkLocalHostRoute, type RouteEntry, type WgDump } from "./observe.ts";
import type { Failure } from "./peers.ts";

export interface ObservedState {
  readonly dump: WgDump;
  readonly routes: readonly RouteEntry[];
  readonly fdb: readonly FdbEntry[];
}

export interface ReconcilePlan {
  /** Peers whose allowed-ips lack their own link-local /128 (re-set them). */
  readonly repairPeers: string[];
  readonly addRoutes: string[];
  readonly addFdb: string[];
  /** Our fe80::/128 routes on the wg interface whose peer is gone. */
  readonly delRoutes: string[];
  /** Our all-zero FDB entries (dst fe80::…) whose peer is gone. */
  readonly delFdb: string[];
}

/**
 * Pure diff between what the host has and what its peers need. Every peer (node or static)
 * needs `<ll>/128` route and an all-zero FDB entry to `<ll>` via the wg interface. Entries
 * we own but no peer needs are orphans; anything else (kernel routes, our own address,
 * learned FDB entries, other prefixes, other interfaces) is foreign and left alone.
 */
export function planReconcile(
  observed: ObservedState,
  options: { variant: AddressVariant; wireguard: string; ownAddress: string; staticKeys?: ReadonlySet<string> },
): ReconcilePlan {
  const needed = new Map<string, string>(); // ll -> key
  const repairPeers: string[] = [];
  for (const peer of observed.dump.peers) {
    const ll = linkLocal(peer.key, options.variant);
    needed.set(ll, peer.key);
    if (!peer.allowedIps.includes(`${ll}/128`)) repairPeers.push(peer.key);
  }
  const own = options.ownAddress.toLowerCase();
  const haveRoutes = new Set<string>();
  const delRoutes: string[] = [];
  for (const route of observed.routes) {
    if (route.protocol === "kernel") continue;
    const ll = linkLocalHostRoute(route.dst);
    if (!ll || ll === own) continue;
    if (needed.has(ll)) haveRoutes.add(ll);
    else delRoutes.push(ll);
  }
  const haveFdb = new Set<string>();
  const delFdb: string[] = [];
  for (const entry of observed.fdb) {
    if (entry.mac !== ZERO_MAC || !entry.dst) continue;
    const ll = linkLocalHostRoute(entry.dst);
    if (!ll) continue;
    if (entry.via !== undefined && entry.via !== options.wireguard) continue;
    if (needed.has(ll)) haveFdb.add(ll);
    else delFdb.push(ll);
  }
  const addRoutes = [...needed.keys()].filter((ll) => !haveRoutes.has(ll));
  const addFdb = [...needed.keys()].filter((ll) => !haveFdb.has(ll));
  return { repairPeers, addRoutes, addFdb, delRoutes, delFdb };
}

export const planIsEmpty = (p: ReconcilePlan): boolean =>
  p.repairPeers.length + p.addRoutes.length + p.addFdb.length + p.delRoutes.length + p.delFdb.length === 0;

export type RepairKind = "peer" | "route_added" | "fdb_added" | "route_removed" | "fdb_removed";

/** Per kind: planned minus failed (a failure names the key, or for routes and FDB the address). */
export function repairedCounts(plan: ReconcilePlan, failed: readonly Failure[]): Record<RepairKind, number> {
  const failedKeys = new Set(failed.map((f) => f.public_key));
  // Route and FDB failures carry the program in their reason ("ip: …", "bridge: …").
  const failedSteps = new Set(failed.map((f) => `${f.reason.slice(0, f.reason.indexOf(":"))} ${f.public_key}`));
  const ok = (items: readonly string[], command: "ip" | "bridge") =>
    items.filter((x) => !failedSteps.has(`${command} ${x}`)).length;
  return {
    peer: plan.repairPeers.filter((k) => !failedKeys.has(k)).length,
    route_added: ok(plan.addRoutes, "ip"),
    fdb_added: ok(plan.addFdb, "bridge"),
    route_removed: ok(plan.delRoutes, "ip"),
    fdb_removed: ok(plan.delFdb, "bridge"),
  };
}
