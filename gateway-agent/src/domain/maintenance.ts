import { type AddressVariant, linkLocal } from "@wgkex-edge/shared";
import type { Clock } from "../clock.ts";
import { wg } from "../commands/builders.ts";
import type { CommandRunner } from "../commands/runner.ts";
import type { AgentConfig, StaticPeer } from "../config/schema.ts";
import { type AdoptionPlan, planAdoption } from "../dataplane/adoption.ts";
import { loadCounts, planCleanup, recentPeers } from "../dataplane/cleanup.ts";
import { interfaceProblems, type ProvisionedStack } from "../dataplane/interface-health.ts";
import type { WgDump } from "../dataplane/observe.ts";
import type { Failure, PeerProgrammer } from "../dataplane/peers.ts";
import {
  linkLocalLayout,
  type PeerLayout,
  planIsEmpty,
  planReconcile,
  type ReconcilePlan,
  type RepairKind,
  repairedCounts,
} from "../dataplane/reconcile.ts";
import { type VerifyOutcome, verifyOutcome } from "../dataplane/verify.ts";
import type { Logger } from "../log.ts";
import type { DomainMetrics } from "../metrics.ts";
import type { HostObserver, Observation } from "./observer.ts";
import { type ParkerPlane, reconcileParker } from "./parker-reconcile.ts";
import type { DomainStore } from "./store.ts";

export type MaintenanceJob = "adopt" | "reconcile" | "cleanup" | "load" | "live";

/** Keys reported to the edge per adoption pass at most (the edge bounds what it takes anyway). */
const MAX_ADOPTION_REPORT = 5000;

/** What a maintenance pass did; every failure is in here, none is only logged. */
export interface MaintenanceReport {
  /** The host could not be read: nothing was planned or changed. */
  readonly error?: string;
  /** Reconcile found the interfaces changed behind the agent's back and provisioned them again. */
  readonly interfaces?: { readonly problems: string[]; readonly error?: string };
  /** Foreign peers adopted in this pass, what was reported to the edge, what was left as it is. */
  readonly adoption?: {
    readonly adopted: string[];
    /** Keys sent in `adopted` frames (0 when the session is not welcomed: the next pass sends them). */
    readonly reported: number;
    readonly skipped: AdoptionPlan["skipped"];
  };
  readonly reconcile?: { readonly plan: ReconcilePlan; readonly failed: Failure[] };
  readonly cleanup?: { readonly removed: string[]; readonly failed: Failure[] };
  readonly load?: { readonly connected: number; readonly peers: number };
  /** Keys with a handshake within the stale window, as reported in `live` frames. */
  readonly live?: string[];
}

/** Where reports go (the edge session). */
export interface MaintenanceOutbox {
  /** False when not sent (not welcomed): reported again by the next pass. */
  adopted(keys: readonly string[]): boolean;
  removed(entries: ReadonlyArray<{ key: string; reason: string }>, at: number): void;
  live(keys: readonly string[]): void;
  load(report: { connected: number; load: number; peers: number }): void;
}

export interface MaintenanceDeps {
  readonly config: Pick<AgentConfig, "cleanup" | "reports">;
  readonly wireguard: string;
  readonly variant: AddressVariant;
  readonly staticPeers: readonly StaticPeer[];
  readonly staticKeys: ReadonlySet<string>;
  /** The gateway's own key and link-local address (once provisioned): never a node, never an orphan route. */
  readonly own: () => { readonly publicKey: string; readonly address: string } | undefined;
  /** What provisioning set up (undefined before it ran, or in a dry run): reconcile checks it first. */
  readonly provisioned: () => ProvisionedStack | undefined;
  /** Provision the domain's interfaces again (they were deleted or recreated behind the agent's back). */
  readonly reprovision: () => Promise<unknown>;
  readonly runner: CommandRunner;
  readonly programmer: PeerProgrammer;
  /** A Parker domain: peers and routes from the edge's ranges, no FDB, no static peers. */
  readonly parker?: ParkerPlane | undefined;
  readonly observer: HostObserver;
  readonly store: DomainStore;
  readonly metrics: DomainMetrics;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly outbox: MaintenanceOutbox;
  /** Connected peers over all domains (the `load` figure). */
  readonly totalConnected: () => number;
}

/**
 * Reconcile, stale cleanup and the load/live reports, as one pass: observe the host once,
 * plan (pure: planReconcile, planCleanup, loadCounts), apply, then report what happened
 * (frames, metrics, logs, the returned report), failures included.
 */
export class Maintenance {
  readonly #d: MaintenanceDeps;

  constructor(deps: MaintenanceDeps) {
    this.#d = deps;
  }

  /**
   * The edge asks about keys (their nodes registered again): a reconcile pass, which
   * installs whatever desired peer, route or FDB entry is missing, then what it meant for them.
   */
  async verify(keys: readonly string[]): Promise<VerifyOutcome> {
    const report = await this.run(["reconcile"]);
    const own = this.#d.own();
    const outcome = verifyOutcome(
      keys,
      { ...report.reconcile, ...(report.error !== undefined ? { error: report.error } : {}) },
      {
        desired: (k) => this.#d.store.desired.has(k),
        staticKeys: this.#d.staticKeys,
        ownKey: own?.publicKey,
        layout: this.#layout(),
      },
    );
    this.#d.metrics.verified(outcome);
    this.#d.logger[outcome.repaired.length + outcome.failed.length > 0 ? "warn" : "info"](
      "keys verified for the edge",
      {
        ok: outcome.ok,
        repaired: outcome.repaired.length,
        failed: outcome.failed.length,
        first_failed: outcome.failed.slice(0, 3),
      },
    );
    return outcome;
  }

  async run(jobs: readonly MaintenanceJob[]): Promise<MaintenanceReport> {
    const routing = jobs.includes("reconcile");
    let seen = await this.#d.observer.observe({ routing });
    let interfaces: MaintenanceReport["interfaces"];
    if (routing) {
      interfaces = await this.#heal(seen.ok ? seen.observation.dump : undefined);
      if (interfaces?.error !== undefined) return { error: interfaces.error, interfaces };
      if (interfaces !== undefined) seen = await this.#d.observer.observe({ routing });
    }
    if (!seen.ok) return { error: seen.error, ...(interfaces ? { interfaces } : {}) };
    const observation = seen.observation;
    const now = this.#d.clock.now();
    const report: {
      -readonly [K in keyof MaintenanceReport]: MaintenanceReport[K];
    } = interfaces ? { interfaces } : {};
    // Adoption first: what it keeps is desired for the reconcile of the same pass. Not in a
    // Parker domain: a node's ranges come only with its allocation (the edge ignores reports).
    if (jobs.includes("adopt") && !this.#d.parker) report.adoption = this.#adopt(observation.dump.peers, now);
    if (jobs.includes("reconcile")) report.reconcile = await this.#reconcile(observation);
    if (jobs.includes("cleanup")) report.cleanup = await this.#cleanup(observation, now);
    // Reports describe the host after this pass: without the peers it just removed.
    const gone = new Set(report.cleanup?.removed ?? []);
    const peers = gone.size > 0 ? observation.dump.peers.filter((p) => !gone.has(p.key)) : observation.dump.peers;
    if (jobs.includes("load")) report.load = this.#load(peers, now);
    if (jobs.includes("live")) {
      report.live = recentPeers(peers, now, this.#d.config.cleanup.stale_after_s, this.#d.staticKeys);
      this.#d.outbox.live(report.live);
    }
    return report;
  }

  /**
   * The interfaces first: deleted or recreated behind the agent's back (systemd-networkd, an
   * operator), they lose the private key, the address, the VXLAN and batman-adv ports and
   * every peer. Then provision again; the reconcile that follows installs every desired
   * peer, route and FDB entry. Undefined when nothing is wrong.
   */
  async #heal(dump: WgDump | undefined): Promise<MaintenanceReport["interfaces"]> {
    const want = this.#d.provisioned();
    if (want === undefined) return undefined;
    const stack = await this.#d.observer.stack(dump);
    if (stack === undefined) return undefined;
    const problems = interfaceProblems(stack, want);
    if (problems.length === 0) return undefined;
    this.#d.logger.warn("interfaces changed behind the agent's back; provisioning them again", { problems });
    try {
      await this.#d.reprovision();
    } catch (e) {
      const error = `cannot provision the interfaces again: ${(e as Error).message}`;
      this.#d.logger.error(error, { problems });
      return { problems, error };
    }
    this.#d.metrics.repaired("interfaces", 1);
    return { problems };
  }

  /**
   * Against the desired set, not the kernel's own peer list: desired peers that are missing
   * are installed again (peer, route, FDB entry), static peers set again, routes and FDB
   * entries of the peers that stay added, our orphans removed. Peers nobody asked for are
   * kept and listed as `foreign`.
   */
  async #reconcile(observation: Observation): Promise<{ plan: ReconcilePlan; failed: Failure[] }> {
    if (this.#d.parker) {
      const { parker, store, staticKeys, metrics, clock, logger } = this.#d;
      const ownKey = this.#d.own()?.publicKey;
      return reconcileParker({ parker, store, staticKeys, ownKey, metrics, clock, logger }, observation);
    }
    const own = this.#d.own();
    const desired = this.#d.store.desired;
    const plan = planReconcile(
      { dump: observation.dump, routes: observation.routes ?? [], fdb: observation.fdb ?? [] },
      { nodes: desired.all(), staticKeys: this.#d.staticKeys, ownKey: own?.publicKey },
      this.#layout(),
    );
    this.#d.metrics.foreign(plan.foreign.length);
    const failed: Failure[] = [];
    if (planIsEmpty(plan)) return { plan, failed };
    if (plan.installPeers.length > 0) {
      const r = await this.#d.programmer.install(plan.installPeers);
      failed.push(...r.failed);
      this.#d.store.installed(
        r.done.filter((k) => this.#d.store.firstSeen(k) === undefined),
        this.#d.clock.now(),
      );
    }
    const repair = new Set(plan.repairStatic);
    for (const peer of this.#d.staticPeers.filter((s) => repair.has(s.public_key))) {
      const failure = await this.#setStaticPeer(peer);
      if (failure) failed.push(failure);
    }
    await this.#d.programmer.routesAndFdb(
      { addRoutes: plan.addRoutes, addFdb: plan.addFdb, delRoutes: plan.delRoutes, delFdb: plan.delFdb },
      failed,
    );
    const done = repairedCounts(plan, failed);
    for (const [kind, n] of Object.entries(done) as Array<[RepairKind, number]>) this.#d.metrics.repaired(kind, n);
    this.#d.logger.warn("reconcile repaired drift", {
      peers: done.peer,
      reinstalled: plan.installPeers.length,
      add_routes: done.route_added,
      add_fdb: done.fdb_added,
      del_routes: done.route_removed,
      del_fdb: done.fdb_removed,
      failed: failed.length,
    });
    if (failed.length > 0) {
      this.#d.logger.error("reconcile could not repair everything", {
        count: failed.length,
        first: failed.slice(0, 5),
      });
    }
    return { plan, failed };
  }

  #layout(): PeerLayout {
    const own = this.#d.own();
    return linkLocalLayout({ variant: this.#d.variant, wireguard: this.#d.wireguard, ownAddress: own?.address ?? "" });
  }

  /**
   * Peers on the interface that the edge did not give (a wgkex gateway taken over): the live
   * ones that look like nodes are adopted (desired from now on, so never removed for the
   * edge not knowing them, and put back when lost) and reported until the edge sends them
   * back as its own. The rules are pure (`planAdoption`); nothing is removed here.
   */
  #adopt(peers: Observation["dump"]["peers"], now: number): NonNullable<MaintenanceReport["adoption"]> {
    const desired = this.#d.store.desired;
    const plan = planAdoption(
      peers,
      now,
      {
        variant: this.#d.variant,
        staticKeys: this.#d.staticKeys,
        ownKey: this.#d.own()?.publicKey,
        edge: desired.edge,
        adopted: desired.adopted,
      },
      { staleAfterS: this.#d.config.cleanup.stale_after_s, maxReport: MAX_ADOPTION_REPORT },
    );
    if (plan.adopt.length > 0) {
      desired.adopt(plan.adopt);
      this.#d.store.save();
      this.#d.logger.info("adopted peers the edge did not give (kept, reported)", {
        count: plan.adopt.length,
        first: plan.adopt.slice(0, 5),
      });
    }
    const left = plan.skipped.stale.length + plan.skipped.never.length + plan.skipped.notNode.length;
    if (plan.adopt.length > 0 && left > 0) {
      this.#d.logger.info("foreign peers left to the stale cleanup (not adopted)", {
        stale: plan.skipped.stale.length,
        never_handshaked: plan.skipped.never.length,
        not_node: plan.skipped.notNode.length,
      });
    }
    const reported = this.#d.outbox.adopted(plan.report) ? plan.report.length : 0;
    this.#d.metrics.adopted(plan.adopt.length, desired.adopted.size);
    return { adopted: plan.adopt, reported, skipped: plan.skipped };
  }

  async #setStaticPeer(peer: StaticPeer): Promise<Failure | undefined> {
    const r = await this.#d.runner.run(
      wg.setStaticPeer(
        this.#d.wireguard,
        peer.public_key,
        linkLocal(peer.public_key, this.#d.variant),
        peer.endpoint,
        peer.persistent_keepalive,
      ),
    );
    if (r.code === 0) return undefined;
    this.#d.metrics.commandFailed("wg");
    return { public_key: peer.public_key, reason: `wg: ${(r.stderr.trim() || `exit ${r.code}`).slice(0, 400)}` };
  }

  /** Remove stale peers (FDB → route → peer) and tell the edge which. */
  async #cleanup(observation: Observation, now: number): Promise<{ removed: string[]; failed: Failure[] }> {
    const { store, config } = this.#d;
    const plan = planCleanup(observation.dump.peers, now, store.state.first_seen, this.#d.staticKeys, {
      staleAfterS: config.cleanup.stale_after_s,
      graceS: config.cleanup.grace_s,
    });
    store.installed(plan.remember, now);
    store.forget(plan.forget);
    let removed: string[] = [];
    let failed: Failure[] = [];
    if (plan.remove.length > 0) {
      const r = await (this.#d.parker?.installer ?? this.#d.programmer).remove(plan.remove.map((d) => d.key));
      removed = r.done;
      failed = r.failed;
      store.forget(removed);
      // Not desired any more, or the next reconcile would install them again; the edge hears
      // of it (`removed`) and sends the key again when its node registers again.
      store.desired.remove(removed);
      this.#d.metrics.staleRemoved(removed.length);
      const done = new Set(removed);
      this.#d.outbox.removed(
        plan.remove.filter((d) => done.has(d.key)),
        now,
      );
      this.#d.logger.info("stale peers removed", { count: removed.length });
      if (failed.length > 0) {
        this.#d.logger.warn("some stale peers could not be removed", {
          count: failed.length,
          first: failed.slice(0, 5),
        });
      }
      const left = store.state.peers - removed.length;
      store.counts({ peers: left });
      this.#d.metrics.peers(left);
    }
    store.save();
    return { removed, failed };
  }

  #load(peers: Observation["dump"]["peers"], now: number): { connected: number; peers: number } {
    const counts = loadCounts(peers, now, this.#d.config.reports.connected_window_s, this.#d.staticKeys);
    this.#d.store.counts({ connected: counts.connected });
    this.#d.metrics.connected(counts.connected);
    this.#d.store.save();
    this.#d.outbox.load({ connected: counts.connected, load: this.#d.totalConnected(), peers: counts.peers });
    return counts;
  }
}
