import type { PeerEntry } from "@wgkex-edge/shared";
import type { Clock } from "../clock.ts";
import { planBatch, planSnapshot, type UnappliedEntry } from "../dataplane/changes.ts";
import type { PeerInstaller } from "../dataplane/installer.ts";
import type { WgDump } from "../dataplane/observe.ts";
import type { Failure } from "../dataplane/peers.ts";
import type { Logger } from "../log.ts";
import type { DomainMetrics } from "../metrics.ts";
import type { DomainStore } from "./store.ts";

export interface RuntimeHooks {
  /** Called after a batch is installed, before the state file is written (crash tests). */
  beforeStateWrite?: (domain: string, seq: number) => void | Promise<void>;
}

export interface ApplyOutcome {
  /** The seq acknowledged. */
  readonly seq: number;
  readonly failed: Failure[];
  /** Snapshots: installed peers nobody asked for, kept (the adoption work reports them). */
  readonly foreign?: string[];
}

export interface PeerApplierDeps {
  readonly domain: string;
  readonly programmer: PeerInstaller;
  readonly store: DomainStore;
  readonly metrics: DomainMetrics;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly staticKeys: ReadonlySet<string>;
  /** The gateway's own public key for the domain, once provisioned: never installed as a node. */
  readonly ownKey: () => string | undefined;
  /** The installed peers, read from the host (undefined when it cannot be read). */
  readonly installedPeers: () => Promise<WgDump | undefined>;
  readonly ack: (seq: number, failed: readonly Failure[]) => void;
  /** True once the agent was killed (crash simulation): nothing more may be written or sent. */
  readonly killed: () => boolean;
  readonly hooks?: RuntimeHooks;
}

/**
 * Applies what the edge sends, always in this order: install on the host, then write the
 * state file, then ack. A crash between any two steps loses nothing: the edge replays from
 * the last seq written, and installing twice is harmless.
 */
export class PeerApplier {
  readonly #d: PeerApplierDeps;

  constructor(deps: PeerApplierDeps) {
    this.#d = deps;
  }

  /** A batch of changes (last op per key wins). */
  async batch(
    entries: readonly PeerEntry[],
    receivedAt: readonly number[],
    unapplied: readonly UnappliedEntry[] = [],
  ): Promise<ApplyOutcome> {
    const { programmer, store } = this.#d;
    const plan = planBatch(entries, { staticKeys: this.#d.staticKeys, ownKey: this.#d.ownKey() }, unapplied);
    const failed: Failure[] = [...plan.refused];
    if (plan.removes.length > 0) {
      const r = await programmer.remove(plan.removes);
      failed.push(...r.failed);
      store.forget(r.done);
      store.desired.remove(plan.removes);
    }
    if (plan.adds.length > 0) {
      const r = await programmer.install(plan.adds, plan.ranges);
      failed.push(...r.failed);
      store.installed(r.done, this.#d.clock.now());
      // Desired even when the install failed: the reconcile tries again.
      store.desired.addFromEdge(plan.adds);
    }
    this.#d.metrics.batchSize(plan.adds.length + plan.removes.length);
    const seq = Math.max(store.state.applied_seq, plan.seq);
    await this.#commit(seq, failed, receivedAt);
    this.#d.logger.info("batch installed", {
      seq: plan.seq,
      added: plan.adds.length,
      removed: plan.removes.length,
      failed: failed.length,
    });
    return { seq, failed };
  }

  /**
   * The edge's whole set: install every listed key (Parker: with its ranges), remove only the
   * keys the edge gave before and no longer lists, keep every other peer (static, adopted,
   * foreign), ack `head`.
   */
  async snapshot(
    keys: readonly string[],
    head: number,
    receivedAt: number,
    ranges?: ReadonlyMap<string, readonly string[]>,
  ): Promise<ApplyOutcome> {
    const { programmer, store } = this.#d;
    const dump = await this.#d.installedPeers();
    const plan = planSnapshot(keys, {
      staticKeys: this.#d.staticKeys,
      ownKey: this.#d.ownKey(),
      previous: store.desired.edge,
      adopted: store.desired.adopted,
      installed: (dump?.peers ?? []).map((p) => p.key),
    });
    const failed: Failure[] = [...plan.refused];
    if (plan.remove.length > 0) {
      const r = await programmer.remove(plan.remove);
      failed.push(...r.failed);
      store.forget(r.done);
    }
    const r = await programmer.install(plan.install, ranges);
    failed.push(...r.failed);
    store.installed(
      r.done.filter((k) => plan.fresh.has(k)),
      this.#d.clock.now(),
    );
    store.desired.replaceEdge(plan.install);
    this.#d.metrics.batchSize(plan.install.length + plan.remove.length);
    await this.#commit(head, failed, [receivedAt], true);
    this.#d.logger.info("snapshot installed", {
      head,
      keys: plan.install.length,
      removed: plan.remove.length,
      foreign: plan.foreign.length,
      failed: failed.length,
    });
    if (plan.foreign.length > 0) {
      this.#d.logger.warn("peers the edge does not know are kept", {
        count: plan.foreign.length,
        first: plan.foreign.slice(0, 5),
      });
    }
    return { seq: head, failed, foreign: plan.foreign };
  }

  /** State first, ack second: the edge never hears of a seq the agent could forget. */
  async #commit(seq: number, failed: Failure[], receivedAt: readonly number[], snapshot = false): Promise<void> {
    const { store, metrics } = this.#d;
    await this.#d.hooks?.beforeStateWrite?.(this.#d.domain, seq);
    if (this.#d.killed()) throw new Error("killed");
    store.applied(seq, { snapshot });
    metrics.appliedSeq(seq);
    metrics.replayLag(store.lag);
    const now = store.state.last_sync;
    for (const t of receivedAt) metrics.applyLatency((now - t) / 1000);
    if (failed.length > 0) this.#d.logger.warn("some keys failed", { count: failed.length, first: failed.slice(0, 5) });
    this.#d.ack(seq, failed);
  }
}
