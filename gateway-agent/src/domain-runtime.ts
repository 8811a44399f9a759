import {
  type AgentFrame,
  type EdgeFrame,
  linkLocal,
  MAX_ENTRIES_PER_FRAME,
  type PeerEntry,
  type SnapshotFrame,
} from "@wgkex-edge/shared";
import type { Clock } from "./clock.ts";
import { bridge, ip, wg } from "./commands/builders.ts";
import type { CommandRunner } from "./commands/runner.ts";
import type { AgentConfig, DomainConfig } from "./config/schema.ts";
import { chunk } from "./dataplane/batch.ts";
import { decideStale, recentPeers } from "./dataplane/cleanup.ts";
import { parseFdb, parseRoutes, parseWgDump, type WgDump } from "./dataplane/observe.ts";
import { type Failure, PeerProgrammer } from "./dataplane/peers.ts";
import { type ProvisionResult, provisionDomain } from "./dataplane/provision.ts";
import { planIsEmpty, planReconcile, type ReconcilePlan } from "./dataplane/reconcile.ts";
import type { Logger } from "./log.ts";
import type { AgentMetrics } from "./metrics.ts";
import { type DomainState, emptyState, readState, writeFirstSeen, writeState } from "./state.ts";

/** Frames arriving within this window (or up to BATCH_MAX entries) are one batch. */
const COALESCE_MS = 20;
const BATCH_MAX_ENTRIES = 5000;
/** After bursts the peer count is refreshed from `wg show dump` at most this often. */
const DUMP_REFRESH_MS = 10_000;
/** first_seen (one entry per peer) is written at most this often, and on stop. */
const FIRST_SEEN_SAVE_MS = 30_000;

export interface RuntimeHooks {
  /** Called after a batch is installed, before the state file is written (crash tests). */
  beforeStateWrite?: (domain: string, seq: number) => void | Promise<void>;
}

export interface DomainRuntimeDeps {
  readonly config: AgentConfig;
  readonly domain: DomainConfig;
  readonly runner: CommandRunner;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: AgentMetrics;
  readonly hooks?: RuntimeHooks;
  readonly dryRun?: boolean;
  /** Connected peers over all domains (for the load report). */
  readonly totalConnected: () => number;
  readonly readFile?: (path: string) => string;
  readonly daemonLog?: string;
}

type Job =
  | { kind: "peers"; entries: PeerEntry[]; receivedAt: number[] }
  | { kind: "snapshot"; keys: string[]; head: number; receivedAt: number }
  | { kind: "task"; name: string; run: () => Promise<void> };

export interface ApplyOutcome {
  readonly seq: number;
  readonly failed: Failure[];
}

/**
 * Everything one domain does: provision, apply edge frames in batches (acks after
 * install, state after install), reconcile, stale cleanup and reports. All host work goes
 * through one serial queue, so batches never interleave.
 */
export class DomainRuntime {
  readonly name: string;
  readonly domain: DomainConfig;
  readonly programmer: PeerProgrammer;
  state: DomainState;
  provisioned: ProvisionResult | undefined;
  /** Set when the edge's variant differs from ours: the domain refuses to run. */
  fatal: string | undefined;
  connected = 0;
  peerCount = 0;
  #needSnapshot: boolean;
  #queue: Job[] = [];
  #busy: Promise<void> | undefined;
  #snapshotPages: Set<string> | undefined;
  #snapshotStarted = 0;
  #stopping = false;
  #killed = false;
  #send: (frame: AgentFrame) => boolean = () => false;
  #welcomed = false;
  #dumpRefreshedAt = 0;
  #firstSeenSavedAt = 0;
  readonly #d: DomainRuntimeDeps;
  readonly #staticKeys: ReadonlySet<string>;
  readonly #log: Logger;

  constructor(deps: DomainRuntimeDeps) {
    this.#d = deps;
    this.domain = deps.domain;
    this.name = deps.domain.name;
    this.#log = deps.logger.child({ domain: this.name });
    this.#staticKeys = new Set(deps.domain.static_peers.map((p) => p.public_key));
    this.programmer = new PeerProgrammer(
      deps.runner,
      {
        wireguard: deps.domain.interfaces.wireguard,
        vxlan: deps.domain.interfaces.vxlan,
        variant: deps.domain.variant,
      },
      undefined,
      { onCommandFailure: (command) => deps.metrics.commandFailures.inc({ command }) },
    );
    const saved = readState(deps.config.state_dir, this.name);
    this.state = saved ?? emptyState();
    this.#needSnapshot = saved === undefined;
    deps.metrics.appliedSeq.set({ domain: this.name }, this.state.applied_seq);
    deps.metrics.edgeConnected.set({ domain: this.name }, 0);
  }

  get staticKeys(): ReadonlySet<string> {
    return this.#staticKeys;
  }

  /** Create or repair the interfaces; a newly created interface means "ask for a snapshot". */
  async provision(): Promise<ProvisionResult> {
    const result = await provisionDomain(this.#d.runner, this.#d.config, this.domain, this.programmer, {
      logger: this.#log,
      ...(this.#d.readFile ? { readFile: this.#d.readFile } : {}),
      ...(this.#d.daemonLog ? { daemonLog: this.#d.daemonLog } : {}),
    });
    if (result.created) this.#needSnapshot = true;
    this.provisioned = result;
    this.#log.info("domain provisioned", {
      created: result.created,
      address: result.address,
      public_key: result.publicKey,
      problems: result.problems.length,
    });
    return result;
  }

  /** What hello says: last applied seq, and whether we need the full set. */
  hello(): { since: number; snapshot: boolean } {
    return { since: this.state.applied_seq, snapshot: this.#needSnapshot };
  }

  attach(send: (frame: AgentFrame) => boolean): void {
    this.#send = send;
  }

  connectionState(open: boolean): void {
    this.#d.metrics.edgeConnected.set({ domain: this.name }, open ? 1 : 0);
    if (!open) {
      this.#snapshotPages = undefined;
      this.#welcomed = false;
    }
    this.state.edge_connected = open;
  }

  /** Handle one parsed edge frame. Returns "stop" when the domain must not run. */
  onFrame(frame: EdgeFrame): "ok" | "stop" | "replaced" {
    if (this.#stopping) return "ok";
    switch (frame.type) {
      case "welcome": {
        if (frame.variant !== this.domain.variant) {
          this.fatal = `edge says domain ${this.name} uses address variant "${frame.variant}" but domains.${this.name}.variant is "${this.domain.variant}": refusing to run this domain; fix the configuration on one side`;
          this.#log.error(this.fatal);
          return "stop";
        }
        this.state.head = frame.head;
        this.#updateLag();
        this.#welcomed = true;
        this.#d.metrics.edgeConnected.set({ domain: this.name }, 1);
        this.#log.info("welcome", { mode: frame.mode, head: frame.head, since: this.state.applied_seq });
        if (frame.mode === "snapshot") {
          this.#snapshotPages = new Set();
          this.#snapshotStarted = this.#d.clock.now();
        }
        this.sendInterface();
        this.enqueueTask("load", () => this.reportLoad()).catch(() => {
          // logged by the queue
        });
        return "ok";
      }
      case "peers": {
        const now = this.#d.clock.now();
        const maxSeq = frame.entries[frame.entries.length - 1]?.seq ?? 0;
        if (maxSeq > this.state.head) {
          this.state.head = maxSeq;
          this.#updateLag();
        }
        const last = this.#queue[this.#queue.length - 1];
        // Coalesce with a peers batch that has not started yet.
        if (last && last.kind === "peers") {
          last.entries.push(...frame.entries);
          last.receivedAt.push(now);
        } else {
          this.#queue.push({ kind: "peers", entries: [...frame.entries], receivedAt: [now] });
        }
        this.#pump();
        return "ok";
      }
      case "snapshot": {
        this.#snapshotPages ??= new Set();
        if (this.#snapshotStarted === 0) this.#snapshotStarted = this.#d.clock.now();
        for (const key of frame.keys) this.#snapshotPages.add(key);
        if (frame.done) this.#finishSnapshot(frame);
        return "ok";
      }
      case "error": {
        this.#log.error("edge error", { code: frame.code, message: frame.message });
        if (frame.code === "not_configured" || frame.code === "unsupported_version") return "stop";
        if (frame.code === "replaced") return "replaced";
        return "ok";
      }
    }
  }

  #finishSnapshot(frame: SnapshotFrame): void {
    const keys = [...(this.#snapshotPages ?? [])];
    this.#queue.push({ kind: "snapshot", keys, head: frame.head, receivedAt: this.#snapshotStarted });
    this.#snapshotPages = undefined;
    this.#snapshotStarted = 0;
    this.#pump();
  }

  enqueueTask(name: string, run: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({
        kind: "task",
        name,
        run: () =>
          run().then(resolve, (e) => {
            reject(e);
            throw e;
          }),
      });
      this.#pump();
    });
  }

  /** Wait until the queue is empty (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#busy) await this.#busy;
  }

  #pump(): void {
    if (this.#busy || this.#killed) return;
    this.#busy = (async () => {
      // Let frames that arrive together coalesce into one batch: a storm of single-key
      // frames must not become one process spawn per key.
      const started = Date.now();
      while (
        this.#queue[0]?.kind === "peers" &&
        this.#queuedEntries() < BATCH_MAX_ENTRIES &&
        Date.now() - started < COALESCE_MS &&
        !this.#stopping
      ) {
        await new Promise((r) => setTimeout(r, 2));
      }
      let batches = 0;
      while (this.#queue.length > 0 && !this.#killed) {
        const job = this.#queue.shift()!;
        if (job.kind !== "task") batches++;
        try {
          await this.#run(job);
        } catch (e) {
          if (this.#killed) break;
          this.#log.error("job failed", { job: job.kind === "task" ? job.name : job.kind, error: e as Error });
        }
        if (this.#stopping) break;
      }
      // After bursts, now and then: refresh the peer count (metrics, status).
      if (batches > 0 && !this.#killed && Date.now() - this.#dumpRefreshedAt >= DUMP_REFRESH_MS) {
        this.#dumpRefreshedAt = Date.now();
        await this.readDump();
      }
    })().finally(() => {
      this.#busy = undefined;
      if (this.#queue.length > 0 && !this.#stopping && !this.#killed) this.#pump();
    });
  }

  async #run(job: Job): Promise<void> {
    if (job.kind === "task") return job.run();
    if (job.kind === "peers") return this.#applyPeers(job.entries, job.receivedAt);
    return this.#applySnapshot(job.keys, job.head, job.receivedAt);
  }

  /** Apply entries in seq order: the last op per key wins; then state, then ack. */
  async #applyPeers(entries: PeerEntry[], receivedAt: number[]): Promise<void> {
    entries.sort((a, b) => a.seq - b.seq);
    const final = new Map<string, "add" | "remove">();
    for (const e of entries) final.set(e.public_key, e.op);
    const adds: string[] = [];
    const removes: string[] = [];
    for (const [key, op] of final) {
      if (this.#staticKeys.has(key)) continue; // the other gateways are configured, not registered
      (op === "add" ? adds : removes).push(key);
    }
    const maxSeq = entries[entries.length - 1]!.seq;
    const failed: Failure[] = [];
    if (removes.length > 0) {
      const r = await this.programmer.remove(removes);
      failed.push(...r.failed);
      for (const key of r.done) delete this.state.first_seen[key];
    }
    if (adds.length > 0) {
      const r = await this.programmer.install(adds);
      failed.push(...r.failed);
      const now = this.#d.clock.now();
      for (const key of r.done) this.state.first_seen[key] = now;
    }
    this.#d.metrics.batchSize.observe({ domain: this.name }, adds.length + removes.length);
    await this.#commit(Math.max(this.state.applied_seq, maxSeq), failed, receivedAt);
    this.#log.info("batch installed", {
      seq: maxSeq,
      added: adds.length,
      removed: removes.length,
      failed: failed.length,
    });
  }

  /** The full desired set: remove managed peers not listed (never static ones), install the rest. */
  async #applySnapshot(keys: string[], head: number, receivedAt: number): Promise<void> {
    const desired = new Set(keys.filter((k) => !this.#staticKeys.has(k)));
    const dump = await this.readDump();
    const failed: Failure[] = [];
    const extra = (dump?.peers ?? []).map((p) => p.key).filter((k) => !desired.has(k) && !this.#staticKeys.has(k));
    if (extra.length > 0) {
      const r = await this.programmer.remove(extra);
      failed.push(...r.failed);
      for (const key of r.done) delete this.state.first_seen[key];
    }
    const installed = new Set((dump?.peers ?? []).map((p) => p.key));
    const r = await this.programmer.install([...desired]);
    failed.push(...r.failed);
    const now = this.#d.clock.now();
    for (const key of r.done) if (!installed.has(key)) this.state.first_seen[key] = now;
    this.#d.metrics.batchSize.observe({ domain: this.name }, desired.size + extra.length);
    await this.#commit(head, failed, [receivedAt]);
    this.#needSnapshot = false;
    this.#log.info("snapshot installed", { head, keys: desired.size, removed: extra.length, failed: failed.length });
  }

  async #commit(seq: number, failed: Failure[], receivedAt: number[]): Promise<void> {
    await this.#d.hooks?.beforeStateWrite?.(this.name, seq);
    if (this.#killed) throw new Error("killed");
    const now = this.#d.clock.now();
    this.state.applied_seq = seq;
    this.state.last_sync = now;
    this.#save();
    this.#d.metrics.appliedSeq.set({ domain: this.name }, seq);
    this.#updateLag();
    for (const t of receivedAt) this.#d.metrics.applyLatency.observe({ domain: this.name }, (now - t) / 1000);
    const ack: AgentFrame = { type: "ack", seq };
    if (failed.length > 0) {
      ack.failed = failed
        .slice(0, MAX_ENTRIES_PER_FRAME)
        .map((f) => ({ public_key: f.public_key, reason: f.reason.slice(0, 500) }));
      this.#log.warn("some keys failed", { count: failed.length, first: failed.slice(0, 5) });
    }
    this.#send(ack);
  }

  #queuedEntries(): number {
    let n = 0;
    for (const job of this.#queue) if (job.kind === "peers") n += job.entries.length;
    return n;
  }

  #save(final = false): void {
    if (this.#d.dryRun) return;
    this.state.peers = this.peerCount;
    this.state.connected = this.connected;
    this.state.updated = this.#d.clock.now();
    writeState(this.#d.config.state_dir, this.name, this.state);
    if (final || Date.now() - this.#firstSeenSavedAt >= FIRST_SEEN_SAVE_MS) {
      this.#firstSeenSavedAt = Date.now();
      writeFirstSeen(this.#d.config.state_dir, this.name, this.state.first_seen);
    }
  }

  #updateLag(): void {
    this.#d.metrics.replayLag.set({ domain: this.name }, Math.max(0, this.state.head - this.state.applied_seq));
  }

  async readDump(): Promise<WgDump | undefined> {
    const r = await this.#d.runner.run(wg.show(this.domain.interfaces.wireguard), { readOnly: true });
    if (r.code !== 0) {
      this.#log.error("cannot read WireGuard peers", { error: r.stderr.trim() });
      this.#d.metrics.commandFailures.inc({ command: "wg" });
      return undefined;
    }
    const dump = parseWgDump(r.stdout);
    this.peerCount = dump.peers.length;
    this.#d.metrics.peers.set({ domain: this.name }, dump.peers.length);
    return dump;
  }

  /** Read wg, routes and FDB; repair what is missing, remove our orphans. */
  async reconcile(): Promise<ReconcilePlan | undefined> {
    const { wireguard: wgIf, vxlan: vxIf } = this.domain.interfaces;
    const dump = await this.readDump();
    if (!dump) return undefined;
    const routes = await this.#d.runner.run(ip.routeShow(wgIf), { readOnly: true });
    const fdb = await this.#d.runner.run(bridge.fdbShow(vxIf), { readOnly: true });
    if (routes.code !== 0 || fdb.code !== 0) {
      this.#log.error("cannot read routes or FDB", { error: `${routes.stderr}${fdb.stderr}`.trim() });
      return undefined;
    }
    const plan = planReconcile(
      { dump, routes: parseRoutes(routes.stdout), fdb: parseFdb(fdb.stdout) },
      {
        variant: this.domain.variant,
        wireguard: wgIf,
        ownAddress: this.provisioned?.address ?? "",
        staticKeys: this.#staticKeys,
      },
    );
    if (planIsEmpty(plan)) return plan;
    const m = this.#d.metrics.reconcileRepairs;
    m.inc({ domain: this.name, kind: "peer" }, plan.repairPeers.length);
    m.inc({ domain: this.name, kind: "route_added" }, plan.addRoutes.length);
    m.inc({ domain: this.name, kind: "fdb_added" }, plan.addFdb.length);
    m.inc({ domain: this.name, kind: "route_removed" }, plan.delRoutes.length);
    m.inc({ domain: this.name, kind: "fdb_removed" }, plan.delFdb.length);
    this.#log.warn("reconcile repaired drift", {
      peers: plan.repairPeers.length,
      add_routes: plan.addRoutes.length,
      add_fdb: plan.addFdb.length,
      del_routes: plan.delRoutes.length,
      del_fdb: plan.delFdb.length,
    });
    if (plan.repairPeers.length > 0) {
      const nodes = plan.repairPeers.filter((k) => !this.#staticKeys.has(k));
      if (nodes.length > 0) await this.programmer.install(nodes);
      for (const p of this.domain.static_peers.filter((s) => plan.repairPeers.includes(s.public_key))) {
        await this.#d.runner.run(
          wg.setStaticPeer(
            wgIf,
            p.public_key,
            linkLocal(p.public_key, this.domain.variant),
            p.endpoint,
            p.persistent_keepalive,
          ),
        );
      }
    }
    await this.programmer.routesAndFdb({
      addRoutes: plan.addRoutes,
      addFdb: plan.addFdb,
      delRoutes: plan.delRoutes,
      delFdb: plan.delFdb,
    });
    return plan;
  }

  /** Remove stale peers (FDB → route → peer), report them to the edge. */
  async cleanup(): Promise<string[]> {
    const dump = await this.readDump();
    if (!dump) return [];
    const now = this.#d.clock.now();
    const firstSeen = new Map(Object.entries(this.state.first_seen));
    const decision = decideStale(dump.peers, now, firstSeen, this.#staticKeys, {
      staleAfterS: this.#d.config.cleanup.stale_after_s,
      graceS: this.#d.config.cleanup.grace_s,
    });
    for (const key of decision.firstSeen) this.state.first_seen[key] = now;
    for (const key of decision.forget) delete this.state.first_seen[key];
    // Forget keys that are no longer installed.
    const present = new Set(dump.peers.map((p) => p.key));
    for (const key of Object.keys(this.state.first_seen)) if (!present.has(key)) delete this.state.first_seen[key];
    let removed: string[] = [];
    if (decision.remove.length > 0) {
      const r = await this.programmer.remove(decision.remove.map((d) => d.key));
      removed = r.done;
      for (const key of removed) delete this.state.first_seen[key];
      this.#d.metrics.removed.inc({ domain: this.name }, removed.length);
      const reasons = new Map(decision.remove.map((d) => [d.key, d.reason]));
      for (const part of chunk(removed, MAX_ENTRIES_PER_FRAME)) {
        this.#send({
          type: "removed",
          entries: part.map((key) => ({ public_key: key, reason: reasons.get(key) ?? "stale", at: now })),
        });
      }
      this.#log.info("stale peers removed", { count: removed.length });
      this.peerCount -= removed.length;
      this.#d.metrics.peers.set({ domain: this.name }, this.peerCount);
    }
    this.#save();
    return removed;
  }

  /** Refresh connected/peer counts and send `load`. */
  async reportLoad(): Promise<void> {
    const dump = await this.readDump();
    if (!dump) return;
    this.connected = recentPeers(
      dump.peers,
      this.#d.clock.now(),
      this.#d.config.reports.connected_window_s,
      this.#staticKeys,
    ).length;
    this.#d.metrics.connected.set({ domain: this.name }, this.connected);
    this.#save();
    if (this.#welcomed) {
      this.#send({
        type: "load",
        connected: this.connected,
        load: this.#d.totalConnected(),
        peers: dump.peers.length - dump.peers.filter((p) => this.#staticKeys.has(p.key)).length,
      });
    }
  }

  /** Keys with a handshake within the stale window, in frames of ≤ 1000. */
  async reportLive(): Promise<number> {
    const dump = await this.readDump();
    if (!dump) return 0;
    const keys = recentPeers(dump.peers, this.#d.clock.now(), this.#d.config.cleanup.stale_after_s, this.#staticKeys);
    for (const part of chunk(keys, MAX_ENTRIES_PER_FRAME)) this.#send({ type: "live", keys: part });
    return keys.length;
  }

  sendInterface(): void {
    if (!this.provisioned) return;
    this.#send({
      type: "interface",
      public_key: this.provisioned.publicKey,
      port: this.domain.listen_port,
      address: this.#d.config.external_address,
      link_address: this.provisioned.address,
    });
  }

  /** Finish the batch in flight, drop the rest (the edge replays it), write state. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#queue.length = 0;
    await this.idle();
    if (!this.#killed) {
      try {
        this.#save(true);
      } catch (e) {
        this.#log.error("cannot write state", { error: e as Error });
      }
    }
  }

  /** Crash simulation: stop now, write nothing. */
  kill(): void {
    this.#killed = true;
    this.#queue.length = 0;
  }
}
