import type { Prefix } from "@wgkex-edge/shared/parker";
import type { Clock } from "../clock.ts";
import type { ParkerInstaller } from "../dataplane/parker/installer.ts";
import { planParkerReconcile } from "../dataplane/parker/reconcile.ts";
import type { Failure } from "../dataplane/peers.ts";
import { planIsEmpty, type ReconcilePlan, type RepairKind, repairedCounts } from "../dataplane/reconcile.ts";
import type { Logger } from "../log.ts";
import type { DomainMetrics } from "../metrics.ts";
import type { Observation } from "./observer.ts";
import type { DomainStore } from "./store.ts";

/** A Parker domain's data plane: the installer (peers with their ranges) and the pools ranges must lie in. */
export interface ParkerPlane {
  readonly installer: ParkerInstaller;
  readonly pools: readonly Prefix[];
}

export interface ParkerReconcileDeps {
  readonly parker: ParkerPlane;
  readonly store: DomainStore;
  readonly staticKeys: ReadonlySet<string>;
  /** The gateway's own public key for the domain, once provisioned. */
  readonly ownKey: string | undefined;
  readonly metrics: DomainMetrics;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * Reconcile for a Parker domain, against the desired set as for batman-adv domains: desired
 * peers that are missing are installed again with the ranges the edge last gave them (an
 * interface recreated empty, a peer deleted by hand); a route for every range a peer holds,
 * none for our ranges nobody holds. No FDB, no static peers; peers nobody asked for are kept
 * and listed as `foreign`.
 */
export async function reconcileParker(
  d: ParkerReconcileDeps,
  observation: Observation,
): Promise<{ plan: ReconcilePlan; failed: Failure[] }> {
  const { installer, pools } = d.parker;
  const desired = d.store.desired;
  installer.learn(observation.dump);
  const present = new Set(observation.dump.peers.map((p) => p.key));
  const missing = [...desired.all()].filter((k) => !present.has(k) && k !== d.ownKey);
  const { install: installPeers, ranges } = installer.reinstallable(missing);
  const routes = planParkerReconcile({ dump: observation.dump, routes: observation.routes ?? [] }, pools);
  const foreign = [...present].filter((k) => !desired.has(k) && !d.staticKeys.has(k) && k !== d.ownKey);
  d.metrics.foreign(foreign.length);
  const plan: ReconcilePlan = { installPeers, repairStatic: [], addFdb: [], delFdb: [], foreign, ...routes };
  const failed: Failure[] = [];
  if (planIsEmpty(plan)) return { plan, failed };
  if (installPeers.length > 0) {
    // Their routes come with them; the route plan covers the peers already there.
    const r = await installer.install(installPeers, ranges);
    failed.push(...r.failed);
    d.store.installed(
      r.done.filter((k) => d.store.firstSeen(k) === undefined),
      d.clock.now(),
    );
  }
  await installer.programmer.routes({ add: routes.addRoutes, del: routes.delRoutes }, failed);
  const done = repairedCounts(plan, failed);
  for (const [kind, n] of Object.entries(done) as Array<[RepairKind, number]>) d.metrics.repaired(kind, n);
  d.logger.warn("reconcile repaired drift", {
    peers: done.peer,
    add_routes: done.route_added,
    del_routes: done.route_removed,
    failed: failed.length,
  });
  if (failed.length > 0) {
    d.logger.error("reconcile could not repair everything", { count: failed.length, first: failed.slice(0, 5) });
  }
  return { plan, failed };
}
