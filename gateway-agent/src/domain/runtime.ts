import type { Clock } from "../clock.ts";
import type { CommandRunner } from "../commands/runner.ts";
import type { AgentConfig, DomainConfig } from "../config/schema.ts";
import type { PeerInstaller } from "../dataplane/installer.ts";
import type { ProvisionedStack } from "../dataplane/interface-health.ts";
import { ParkerInstaller } from "../dataplane/parker/installer.ts";
import { ParkerPeerProgrammer } from "../dataplane/parker/peers.ts";
import { poolsOf } from "../dataplane/parker/ranges.ts";
import { PeerProgrammer } from "../dataplane/peers.ts";
import { type ProvisionResult, provisionDomain } from "../dataplane/provision.ts";
import { interfaceFrame } from "../edge/frames.ts";
import { EdgeSession } from "../edge/session.ts";
import { Debounce } from "../host-events.ts";
import type { Logger } from "../log.ts";
import { type AgentMetrics, DomainMetrics } from "../metrics.ts";
import type { DesiredPeers } from "./desired-peers.ts";
import { Maintenance, type MaintenanceJob, type MaintenanceReport } from "./maintenance.ts";
import { HostObserver } from "./observer.ts";
import { PeerApplier, type RuntimeHooks } from "./peer-applier.ts";
import { type DomainStateView, DomainStore } from "./store.ts";
import { WorkQueue } from "./work-queue.ts";

export type { RuntimeHooks } from "./peer-applier.ts";

/** After batches, the peer count is refreshed from `wg show dump` at most this often. */
const DUMP_REFRESH_MS = 10_000;

export interface DomainRuntimeDeps {
  readonly config: AgentConfig;
  readonly domain: DomainConfig;
  readonly runner: CommandRunner;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: AgentMetrics;
  /** `wgkex-agent/<version>`, for the hello. */
  readonly agent: string;
  readonly hooks?: RuntimeHooks;
  readonly dryRun?: boolean;
  /** Connected peers over all domains (for the load report). */
  readonly totalConnected: () => number;
  readonly readFile?: (path: string) => string;
  readonly daemonLog?: string;
}

/**
 * One domain, wired: its session with the edge feeds a serial work queue; the queue runs the
 * peer applier (install → state → ack) and maintenance passes (reconcile, cleanup, reports),
 * one at a time. Provisioning runs first, before any queued work.
 */
export class DomainRuntime {
  readonly #d: DomainRuntimeDeps;
  readonly #log: Logger;
  readonly #staticKeys: ReadonlySet<string>;
  readonly #programmer: PeerProgrammer;
  readonly #store: DomainStore;
  readonly #observer: HostObserver;
  readonly #session: EdgeSession;
  readonly #queue: WorkQueue;
  readonly #maintenance: Maintenance;
  #provisioned: ProvisionResult | undefined;
  /** Keys of `verify` frames waiting for the queued verify pass (they join it). */
  #verifyKeys: Set<string> | undefined;
  readonly #linkEvents: Debounce;
  #dumpRefreshedAt = Number.NEGATIVE_INFINITY;

  constructor(deps: DomainRuntimeDeps) {
    const { domain, clock } = deps;
    this.#d = deps;
    this.#log = deps.logger.child({ domain: domain.name });
    const metrics = new DomainMetrics(deps.metrics, domain.name);
    this.#staticKeys = new Set(domain.static_peers.map((p) => p.public_key));
    const { wireguard, vxlan } = domain.interfaces;
    this.#programmer = new PeerProgrammer(deps.runner, { wireguard, vxlan, variant: domain.variant }, undefined, {
      onCommandFailure: (command) => metrics.commandFailed(command),
    });
    const store = new DomainStore({
      dir: deps.config.state_dir,
      domain: domain.name,
      clock,
      ...(deps.dryRun ? { dryRun: true } : {}),
    });
    this.#store = store;
    this.#observer = new HostObserver({
      runner: deps.runner,
      interfaces: { wireguard, vxlan },
      parker: domain.parker !== undefined,
      metrics,
      logger: this.#log,
      onPeerCount: (peers) => store.counts({ peers }),
    });
    // A Parker domain installs the ranges the edge sends with each key (docs/parker.md).
    const pools = domain.parker ? poolsOf(domain.parker.pools) : [];
    const parker = domain.parker
      ? new ParkerInstaller(
          new ParkerPeerProgrammer(deps.runner, { wireguard, pools }, undefined, {
            onCommandFailure: (command) => metrics.commandFailed(command),
          }),
          () => this.#observer.peers(),
        )
      : undefined;
    const installer: PeerInstaller = parker ?? this.#programmer;
    const session = new EdgeSession({
      domain: domain.name,
      variant: domain.variant,
      dataplane: domain.mode,
      agent: deps.agent,
      clock,
      logger: this.#log,
      yieldMs: deps.config.edge.backoff_max_ms,
      handlers: {
        cursor: () => store.cursor(),
        head: (seq, force) => {
          if (store.sawHead(seq, force)) metrics.replayLag(store.lag);
        },
        welcomed: () => {
          metrics.edgeConnected(true);
          // Load for v2; peers adopted before the socket was up (the first start on a wgkex
          // gateway) are reported now that the edge takes them.
          this.maintain(["adopt", "load"]).catch(() => {
            // logged by the queue
          });
        },
        peers: (entries, receivedAt, unapplied) => this.#queue.peers(entries, receivedAt, unapplied),
        snapshot: (keys, head, receivedAt, ranges) => this.#queue.snapshot(keys, head, receivedAt, ranges),
        connection: (open) => {
          metrics.edgeConnected(open);
          store.edgeConnected(open);
        },
        resync: () => this.#queue.dropBatches(),
        verify: (keys) => this.#verify(keys),
      },
    });
    this.#session = session;
    const applier = new PeerApplier({
      domain: domain.name,
      programmer: installer,
      store,
      metrics,
      clock,
      logger: this.#log,
      staticKeys: this.#staticKeys,
      ownKey: () => this.#provisioned?.publicKey,
      installedPeers: () => this.#observer.peers(),
      ack: (seq, failed) => session.ack(seq, failed),
      killed: () => this.#queue.killed,
      ...(deps.hooks ? { hooks: deps.hooks } : {}),
    });
    this.#queue = new WorkQueue({
      clock,
      runBatch: async (job) => {
        if (job.kind === "peers") await applier.batch(job.entries, job.receivedAt, job.unapplied);
        else await applier.snapshot(job.keys, job.head, job.receivedAt, job.ranges);
      },
      afterBatches: () => this.#refreshPeerCount(),
      onError: (job, error) => {
        this.#log.error("job failed", { job, error: error as Error });
        // A batch that failed half-way was not acked; later ones must not ack past it.
        if (job === "peers" || job === "snapshot") this.#session.resync(`the ${job} batch failed`);
      },
    });
    this.#maintenance = new Maintenance({
      config: deps.config,
      wireguard,
      variant: domain.variant,
      staticPeers: domain.static_peers,
      staticKeys: this.#staticKeys,
      own: () => this.#provisioned,
      provisioned: () => this.#stack(),
      reprovision: () => this.#provisionInterfaces(),
      runner: deps.runner,
      programmer: this.#programmer,
      parker: parker && { installer: parker, pools },
      observer: this.#observer,
      store,
      metrics,
      clock,
      logger: this.#log,
      outbox: session,
      totalConnected: deps.totalConnected,
    });
    const debounceMs = deps.config.reports.link_debounce_ms;
    this.#linkEvents = new Debounce(clock, debounceMs, Math.max(5 * debounceMs, 1000), () => {
      this.#log.info("interfaces changed: reconciling");
      this.reconcile().catch((error: unknown) => this.#log.error("reconcile failed", { error: error as Error }));
    });
    metrics.appliedSeq(store.state.applied_seq);
    metrics.edgeConnected(false);
  }

  /**
   * The edge asks about keys whose nodes registered again: one reconcile pass for every
   * `verify` that arrives before it starts, then the answer.
   */
  #verify(keys: readonly string[]): void {
    if (this.#verifyKeys !== undefined) {
      for (const k of keys) this.#verifyKeys.add(k);
      return;
    }
    const pending = new Set(keys);
    this.#verifyKeys = pending;
    this.#queue
      .task("verify", async () => {
        this.#verifyKeys = undefined;
        this.#session.verified(await this.#maintenance.verify([...pending]));
      })
      .catch(() => {
        // logged by the queue
      });
  }

  /** Whether a host event about interface `name` concerns this domain. */
  owns(name: string): boolean {
    return Object.values(this.#d.domain.interfaces).includes(name);
  }

  /**
   * One of this domain's interfaces was added, changed or deleted, or lost a route or FDB
   * entry (or events may have been missed): reconcile, which provisions the interfaces
   * again first when they need it, once the burst of events is over.
   */
  interfacesChanged(): void {
    if (this.fatal === undefined && !this.#queue.stopped) this.#linkEvents.trigger();
  }

  get name(): string {
    return this.#d.domain.name;
  }

  get domain(): DomainConfig {
    return this.#d.domain;
  }

  /** Batched install/remove on this domain's interfaces (outside the queue: tests, bench). */
  get programmer(): PeerProgrammer {
    return this.#programmer;
  }

  /** The session with the edge: the agent connects a socket to it. */
  get session(): EdgeSession {
    return this.#session;
  }

  get state(): DomainStateView {
    return this.#store.state;
  }

  /**
   * What this gateway should have besides its static peers: the edge's keys and adopted
   * ones (`adopt` them here). Reconcile installs what is missing; peers outside it are
   * foreign (listed in the reconcile plan and the snapshot outcome) and never removed by
   * either.
   */
  get desired(): DesiredPeers {
    return this.#store.desired;
  }

  get provisioned(): ProvisionResult | undefined {
    return this.#provisioned;
  }

  /** Set when the edge's variant differs from ours: the domain refuses to run. */
  get fatal(): string | undefined {
    return this.#session.refusal;
  }

  /** Node peers with a recent handshake, as last reported. */
  get connected(): number {
    return this.#store.state.connected;
  }

  get staticKeys(): ReadonlySet<string> {
    return this.#staticKeys;
  }

  /** What hello says: last applied seq, and whether we need the full set. */
  hello(): { since: number; snapshot: boolean } {
    return this.#store.cursor();
  }

  /** Create or repair the interfaces; an interface without node peers (new, or made at boot) means "ask for a snapshot". */
  async provision(): Promise<ProvisionResult> {
    const result = await this.#provisionInterfaces();
    if (result.withoutPeers) this.#store.requireSnapshot();
    return result;
  }

  /**
   * Provisioning itself: at start, and again when reconcile finds the interfaces changed
   * (then the desired set, not a snapshot, brings the peers back).
   */
  async #provisionInterfaces(): Promise<ProvisionResult> {
    const { runner, config, domain } = this.#d;
    const remembered = this.#store.state.vxlan_mac;
    const result = await provisionDomain(runner, config, domain, this.#programmer, {
      logger: this.#log,
      ...(this.#d.readFile ? { readFile: this.#d.readFile } : {}),
      ...(this.#d.daemonLog ? { daemonLog: this.#d.daemonLog } : {}),
      ...(remembered ? { vxlanMac: remembered } : {}),
    });
    this.#provisioned = result;
    if (result.vxlanMac) this.#store.rememberVxlanMac(result.vxlanMac);
    this.#session.setInterface(interfaceFrame(result, domain.listen_port, config.external_address));
    this.#log.info("domain provisioned", {
      created: result.created,
      without_peers: result.withoutPeers,
      address: result.address,
      public_key: result.publicKey,
      problems: result.problems.length,
    });
    return result;
  }

  /** What provisioning set up, for reconcile's health check (nothing to check in a dry run). */
  #stack(): ProvisionedStack | undefined {
    const p = this.#provisioned;
    if (p === undefined || this.#d.dryRun) return undefined;
    const { domain } = this.#d;
    const i = domain.interfaces;
    return {
      wireguard: i.wireguard,
      vxlan: domain.parker ? undefined : i.vxlan,
      batman: p.batman ? i.batman : undefined,
      bridge: p.batman && domain.batman.bridge ? i.bridge : undefined,
      publicKey: p.publicKey,
      listenPort: domain.listen_port,
      address: p.address,
      vni: domain.vniResolved,
    };
  }

  /** One maintenance pass over one observation of the host, queued behind the work in flight. */
  maintain(jobs: readonly MaintenanceJob[]): Promise<MaintenanceReport> {
    return this.#queue.task(jobs.join("+"), () => this.#maintenance.run(jobs));
  }

  /** Adoption of peers the edge did not give, then the reconcile against the desired set. */
  reconcile(): Promise<MaintenanceReport> {
    return this.maintain(["adopt", "reconcile"]);
  }

  cleanup(): Promise<MaintenanceReport> {
    return this.maintain(["cleanup"]);
  }

  reportLoad(): Promise<MaintenanceReport> {
    return this.maintain(["load"]);
  }

  reportLive(): Promise<MaintenanceReport> {
    return this.maintain(["live"]);
  }

  /** Wait until the queue is empty (tests, shutdown). */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /** Finish the batch in flight, drop the rest (the edge replays it), write state. */
  async stop(): Promise<void> {
    this.#linkEvents.cancel();
    this.#session.stop();
    await this.#queue.stop();
    if (this.#queue.killed) return;
    try {
      this.#store.save(true);
    } catch (e) {
      this.#log.error("cannot write state", { error: e as Error });
    }
  }

  /** Crash simulation: stop now, write nothing. */
  kill(): void {
    this.#linkEvents.cancel();
    this.#queue.kill();
  }

  /**
   * After bursts, now and then: the counts from the kernel for metrics, the state file
   * (`status`) and a load report (the edge's status), not only the metrics.
   */
  async #refreshPeerCount(): Promise<void> {
    const now = this.#d.clock.now();
    if (now - this.#dumpRefreshedAt < DUMP_REFRESH_MS) return;
    this.#dumpRefreshedAt = now;
    await this.#maintenance.run(["load"]);
  }
}
