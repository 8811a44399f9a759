import { type AddressVariant, linkLocal } from "@wgkex-edge/shared";
import { ZERO_MAC } from "../commands/builders.ts";
import { type FdbEntry, linkLocalHostRoute, type RouteEntry, type WgDump } from "./observe.ts";
import type { Failure } from "./peers.ts";

export interface ObservedState {
  readonly dump: WgDump;
  readonly routes: readonly RouteEntry[];
  readonly fdb: readonly FdbEntry[];
}

/**
 * What a peer needs on this domain's interfaces, and which routes and FDB entries the agent
 * manages (so that one nobody needs is an orphan). A domain mode supplies it: nodes with a
 * link-local /128 here (`linkLocalLayout`); a mode whose peers carry ranges supplies its own.
 */
export interface PeerLayout {
  /** The allowed-ips a desired peer must have, and the route and FDB destinations it needs. */
  needs(key: string): {
    readonly allowedIps: readonly string[];
    readonly routes: readonly string[];
    readonly fdb: readonly string[];
  };
  /** The destination of a route the agent manages (else undefined: foreign, left alone). */
  ownedRoute(route: RouteEntry): string | undefined;
  /** The destination of an FDB entry the agent manages (else undefined: foreign, left alone). */
  ownedFdb(entry: FdbEntry): string | undefined;
}

/**
 * Nodes and gateways as wgkex installs them: peer `allowed-ips <ll>/128`, a host route to
 * `<ll>` on the wg interface and an all-zero FDB entry to `<ll>` via it. Managed: non-kernel
 * `fe80::…/128` routes on the wg interface (never the gateway's own address), all-zero FDB
 * entries to `fe80::…` via the wg interface.
 */
export function linkLocalLayout(options: {
  variant: AddressVariant;
  wireguard: string;
  ownAddress: string;
}): PeerLayout {
  const own = options.ownAddress.toLowerCase();
  return {
    needs(key) {
      const ll = linkLocal(key, options.variant);
      return { allowedIps: [`${ll}/128`], routes: [ll], fdb: [ll] };
    },
    ownedRoute(route) {
      if (route.protocol === "kernel") return undefined;
      const ll = linkLocalHostRoute(route.dst);
      return ll === undefined || ll === own ? undefined : ll;
    },
    ownedFdb(entry) {
      if (entry.mac !== ZERO_MAC || !entry.dst) return undefined;
      if (entry.via !== undefined && entry.via !== options.wireguard) return undefined;
      return linkLocalHostRoute(entry.dst);
    },
  };
}

/** What this gateway should have: node keys (the edge's and adopted ones) and the static peers. */
export interface DesiredState {
  readonly nodes: ReadonlySet<string>;
  readonly staticKeys: ReadonlySet<string>;
  /** The gateway's own key: never a node peer, whatever the set says. */
  readonly ownKey?: string | undefined;
}

export interface ReconcilePlan {
  /** Desired node peers that are missing or lack their allowed-ips: installed again (peer, route, FDB entry). */
  readonly installPeers: string[];
  /** Static peers that are missing or lack their allowed-ips: set again from the configuration. */
  readonly repairStatic: string[];
  /** Route and FDB entries missing for peers that stay (the ones of `installPeers` come with them). */
  readonly addRoutes: string[];
  readonly addFdb: string[];
  /** Managed routes and FDB entries no peer needs. */
  readonly delRoutes: string[];
  readonly delFdb: string[];
  /**
   * Installed peers nobody asked for (not desired, not static): never removed by reconcile.
   * Those that carry their own link-local /128 get route and FDB entry like any node.
   */
  readonly foreign: string[];
}

/**
 * Pure diff between the desired set and the host, not between the host and itself: a
 * desired peer missing from the kernel is installed again, a peer nobody asked for is kept.
 * Anything not managed (kernel routes, the own address, learned FDB entries, other
 * prefixes, other interfaces) is foreign and left alone.
 */
export function planReconcile(observed: ObservedState, desired: DesiredState, layout: PeerLayout): ReconcilePlan {
  const installed = new Map(observed.dump.peers.map((p) => [p.key, p]));
  const needsOf = new Map<string, ReturnType<PeerLayout["needs"]>>();
  const needs = (key: string) => {
    let n = needsOf.get(key);
    if (n === undefined) {
      n = layout.needs(key);
      needsOf.set(key, n);
    }
    return n;
  };
  const complete = (key: string) => {
    const peer = installed.get(key);
    return peer !== undefined && needs(key).allowedIps.every((a) => peer.allowedIps.includes(a));
  };
  const installPeers: string[] = [];
  const repairStatic: string[] = [];
  // Destinations that must stay, and those of them an install below brings back by itself.
  const routes = { needed: new Set<string>(), withInstall: new Set<string>() };
  const fdb = { needed: new Set<string>(), withInstall: new Set<string>() };
  const need = (key: string, install: boolean) => {
    const n = needs(key);
    for (const r of n.routes) (install ? routes.withInstall : routes.needed).add(r);
    for (const f of n.fdb) (install ? fdb.withInstall : fdb.needed).add(f);
  };
  for (const key of desired.nodes) {
    if (key === desired.ownKey || desired.staticKeys.has(key)) continue;
    const missing = !complete(key);
    if (missing) installPeers.push(key);
    need(key, missing);
  }
  for (const key of desired.staticKeys) {
    if (!complete(key)) repairStatic.push(key);
    need(key, false);
  }
  const foreign: string[] = [];
  for (const peer of observed.dump.peers) {
    const key = peer.key;
    if (desired.staticKeys.has(key) || (desired.nodes.has(key) && key !== desired.ownKey)) continue;
    foreign.push(key);
    if (key !== desired.ownKey && complete(key)) need(key, false);
  }
  const diff = (
    entries: Iterable<string | undefined>,
    want: { needed: Set<string>; withInstall: Set<string> },
  ): { add: string[]; del: string[] } => {
    const have = new Set<string>();
    const del: string[] = [];
    for (const dst of entries) {
      if (dst === undefined) continue;
      if (want.needed.has(dst) || want.withInstall.has(dst)) have.add(dst);
      else del.push(dst);
    }
    return { add: [...want.needed].filter((d) => !have.has(d)), del };
  };
  const r = diff(
    observed.routes.map((x) => layout.ownedRoute(x)),
    routes,
  );
  const f = diff(
    observed.fdb.map((x) => layout.ownedFdb(x)),
    fdb,
  );
  return {
    installPeers,
    repairStatic,
    addRoutes: r.add,
    addFdb: f.add,
    delRoutes: r.del,
    delFdb: f.del,
    foreign,
  };
}

export const planIsEmpty = (p: ReconcilePlan): boolean =>
  p.installPeers.length +
    p.repairStatic.length +
    p.addRoutes.length +
    p.addFdb.length +
    p.delRoutes.length +
    p.delFdb.length ===
  0;

export type RepairKind = "peer" | "route_added" | "fdb_added" | "route_removed" | "fdb_removed" | "interfaces";

/** Per kind: planned minus failed (a failure names the key, or for routes and FDB the address). */
export function repairedCounts(
  plan: ReconcilePlan,
  failed: readonly Failure[],
): Record<Exclude<RepairKind, "interfaces">, number> {
  const failedKeys = new Set(failed.map((f) => f.public_key));
  // Route and FDB failures carry the program in their reason ("ip: …", "bridge: …").
  const failedSteps = new Set(failed.map((f) => `${f.reason.slice(0, f.reason.indexOf(":"))} ${f.public_key}`));
  const ok = (items: readonly string[], command: "ip" | "bridge") =>
    items.filter((x) => !failedSteps.has(`${command} ${x}`)).length;
  return {
    peer: [...plan.installPeers, ...plan.repairStatic].filter((k) => !failedKeys.has(k)).length,
    route_added: ok(plan.addRoutes, "ip"),
    fdb_added: ok(plan.addFdb, "bridge"),
    route_removed: ok(plan.delRoutes, "ip"),
    fdb_removed: ok(plan.delFdb, "bridge"),
  };
}
