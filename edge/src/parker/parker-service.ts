import {
  addressesFor,
  endpointFamily,
  layoutCapacity,
  type NodeConfigAnswer,
  type ParkerLayout,
  type ParkerRequest,
  tunnelMtu,
} from "@wgkex-edge/shared/parker";
import { type ParkerConfig, parkerLayout } from "../config/parker.ts";
import { type ConcentratorCandidate, chooseConcentrators, loadShift } from "../selection/concentrator-choice.ts";
import { type ConcentratorView, concentratorEntry, configAnswer } from "./answer.ts";
import {
  type AllocationRow,
  admitNew,
  concentratorList,
  expiryReason,
  maxUnconfirmed,
  type Refusal,
  retrySeconds,
} from "./ipam.ts";
import type { ParkerStore } from "./parker-store.ts";

/** A concentrator as the domain's object sees it: choice inputs plus, when usable, its data. */
export type ConcentratorState = ConcentratorCandidate & { readonly view: ConcentratorView | undefined };

/** What the service needs from the domain's object; the object owns sockets and the log. */
export interface ParkerHooks {
  /** On the domain's deny list (admin API): answered "later", never configured. */
  isDenied(publicKey: string, now: number): boolean;
  concentrators(now: number): ConcentratorState[];
  /** Desired state of a node on the gateways: these concentrators with these routes; resolves once durable. */
  publish(publicKey: string, concentrators: readonly string[], routes: readonly string[], now: number): Promise<void>;
  /** The node is gone: remove it from every gateway. */
  withdraw(publicKey: string, reason: string, now: number): void;
  shiftLoad(shift: Map<string, number>): void;
  count(kind: string): void;
}

export interface ParkerQuery {
  readonly request: ParkerRequest;
  /** Rate-limit key of the client address (IPv4, or IPv6 /64). */
  readonly source: string;
  readonly clientAddress: string | null;
  readonly now: number;
}

export type ParkerDecision =
  | { readonly kind: "config"; readonly answer: NodeConfigAnswer }
  | {
      readonly kind: "retry";
      readonly reason: Refusal | "no-concentrator" | "denied";
      readonly nonce: string;
      readonly time: number;
      readonly retry: number;
    };

export interface PoolStatus {
  readonly capacity: number;
  readonly used: number;
  readonly unconfirmed: number;
  readonly used_percent: number;
  readonly alarm: boolean;
}

// A repeated request writes its time at most this often: the time is informative only.
const TOUCH_INTERVAL_MS = 10 * 60_000;
const HANDSHAKE_INTERVAL_MS = 10 * 60_000;

/**
 * One Parker request, decided synchronously inside the domain's object: allocation,
 * concentrator choice and the publication to the gateways happen with no await in
 * between, so the IPAM is atomic without locks; the answer then waits for the publication
 * to be durable ("200" means stored). Signing happens in the Worker.
 */
export class ParkerService {
  private readonly store: ParkerStore;
  private readonly parker: ParkerConfig;
  private readonly hooks: ParkerHooks;
  private readonly layout: ParkerLayout;
  private readonly capacity: number;
  private readonly random: () => number;

  constructor(store: ParkerStore, parker: ParkerConfig, hooks: ParkerHooks, random: () => number = Math.random) {
    this.store = store;
    this.parker = parker;
    this.hooks = hooks;
    this.layout = parkerLayout(parker);
    this.capacity = layoutCapacity(this.layout);
    this.random = random;
  }

  async handle(query: ParkerQuery): Promise<ParkerDecision> {
    const { request, now } = query;
    // The admin's deny already removed the key from the gateways; the node just waits.
    if (this.hooks.isDenied(request.publicKey, now)) return this.retry(query, "denied");
    const existing = this.store.allocation(request.publicKey);
    const previous = concentratorList(existing);
    const states = this.hooks.concentrators(now);
    const picks = chooseConcentrators(states, previous, this.parker.sticky_tolerance_percent);
    // Nobody to send the node to: it keeps what it has and asks again later. An empty list
    // would make it delete every tunnel.
    if (picks.length === 0) return this.retry(query, "no-concentrator");

    let row = existing;
    if (row === undefined) {
      const refusal = this.allocate(query);
      if (typeof refusal === "string") return this.retry(query, refusal);
      row = refusal;
    }
    const names = picks.map((p) => p.name);
    const joined = names.join(",");
    if (
      existing !== undefined &&
      (existing.concentrators !== joined || now - existing.requested_at >= TOUCH_INTERVAL_MS)
    ) {
      this.store.touch(request.publicKey, now, joined);
    }
    const addresses = addressesFor(this.layout, row.idx);
    const stored = this.hooks.publish(request.publicKey, names, addresses.routes, now);
    this.hooks.shiftLoad(loadShift(previous, names));
    this.hooks.count(
      existing === undefined ? "parker_new" : joined === existing.concentrators ? "parker_repeated" : "parker_moved",
    );

    const family = endpointFamily(query.clientAddress, request.v6mtu, this.transport());
    const views = new Map(states.map((s) => [s.name, s.view]));
    await stored;
    return {
      kind: "config",
      answer: configAnswer({
        nonce: request.nonce,
        now,
        id: this.parker.answer_format === "wgkex" ? request.publicKey : row.idx,
        mtu: tunnelMtu(request.v6mtu, this.transport()),
        concentrators: picks.map((p) => concentratorEntry(views.get(p.name)!, family)),
        addresses,
        keepalive: this.parker.wg_keepalive,
        retry: retrySeconds(this.parker.retry_s, this.parker.retry_jitter_percent, this.random),
      }),
    };
  }

  /** A new allocation at the lowest free index, or why not. */
  private allocate(query: ParkerQuery): AllocationRow | Refusal {
    const limits = this.parker.limits;
    const source = this.store.sourceTag(query.source);
    const counts = this.store.counts(source, query.now, limits.new_per_source_window_s * 1000);
    const refusal = admitNew(counts, {
      newPerSource: limits.new_per_source,
      newPerSourceWindowMs: limits.new_per_source_window_s * 1000,
      newPerHour: limits.new_per_hour,
      maxUnconfirmed: maxUnconfirmed(this.capacity, limits.max_unconfirmed_percent),
      capacity: this.capacity,
    });
    if (refusal !== undefined) return refusal;
    const idx = this.store.lowestFreeIndex(this.layout.firstIndex, this.capacity);
    if (idx === undefined) return "pool-full";
    const row: AllocationRow = {
      public_key: query.request.publicKey,
      idx,
      source,
      allocated_at: query.now,
      requested_at: query.now,
      handshake_at: null,
      concentrators: "",
    };
    this.store.insert(row);
    return row;
  }

  private retry(query: ParkerQuery, reason: Refusal | "no-concentrator" | "denied"): ParkerDecision {
    this.hooks.count(`parker_${reason.replaceAll("-", "_")}`);
    return {
      kind: "retry",
      reason,
      nonce: query.request.nonce,
      time: Math.floor(query.now / 1000),
      retry: retrySeconds(this.parker.limits.backoff_retry_s, this.parker.retry_jitter_percent, this.random),
    };
  }

  private transport() {
    const { max, min, overhead } = this.parker.mtu;
    return { maxMtu: max, minMtu: min, overhead };
  }

  /** Concentrators reported these keys with a recent handshake: proof of possession. */
  confirm(keys: readonly string[], now: number): number {
    return this.store.confirm(keys, now, now - HANDSHAKE_INTERVAL_MS);
  }

  /** Free expired allocations (and withdraw their peers); one page per call, returns how many. */
  expire(now: number, limit = 1000): number {
    this.store.forgetSources(now - this.parker.limits.new_per_source_window_s * 1000);
    const { unconfirmed_h, idle_days } = this.parker.expiry;
    const rules = { unconfirmedMs: unconfirmed_h * 3_600_000, idleMs: idle_days * 86_400_000 };
    const rows = this.store.expired(now - rules.unconfirmedMs, now - rules.idleMs, limit);
    // Counts what it freed, not what the query found: the caller pages until 0, and a row
    // the rule keeps must not make that loop endless.
    let freed = 0;
    for (const row of rows) {
      const reason = expiryReason(row, now, rules);
      if (reason === undefined) continue;
      this.store.release(row.public_key);
      this.hooks.withdraw(row.public_key, reason, now);
      this.hooks.shiftLoad(loadShift(concentratorList(row), []));
      this.hooks.count("parker_expired");
      freed++;
    }
    return freed;
  }

  pool(): PoolStatus {
    const { used, unconfirmed } = this.store.usage();
    const percent = this.capacity === 0 ? 100 : (used / this.capacity) * 100;
    return {
      capacity: this.capacity,
      used,
      unconfirmed,
      used_percent: Math.round(percent * 10) / 10,
      alarm: percent >= this.parker.pool_alarm_percent,
    };
  }
}
