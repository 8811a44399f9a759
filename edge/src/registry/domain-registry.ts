import { DurableObject } from "cloudflare:workers";
import { type ConfigBinding, loadConfig } from "../config/load.ts";
import { domainVariant, gatewaysOf } from "../config/schema.ts";
import { logLine } from "../log.ts";
import { parkerDomain } from "../parker/parker-domain.ts";
import type { ParkerDecision, ParkerQuery, ParkerService } from "../parker/parker-service.ts";
import { BufferedCounters, HourlyCounters, hourOf } from "../stats/hourly-counters.ts";
import type { DomainStatus } from "../stats/status.ts";
import { migrate } from "../storage/migrate.ts";
import { Adopter } from "./adoption/adopter.ts";
import { GatewayBook } from "./gateways/gateway-book.ts";
import { KeyEvents } from "./gateways/key-events.ts";
import { ChangeLog } from "./log/change-log.ts";
import { MIGRATIONS } from "./migrations.ts";
import { type DenyEntry, DenyList } from "./registration/deny-list.ts";
import { KeyLimits } from "./registration/key-limits.ts";
import { type RegisterInput, type RegisterResult, Registrar } from "./registration/registrar.ts";
import { RepairLimiter } from "./registration/repair-limiter.ts";
import { Retention } from "./retention.ts";
import { GatewaySessions } from "./session/gateway-session.ts";
import { GatewaySockets } from "./session/gateway-sockets.ts";
import { RepairRequests } from "./session/repair-requests.ts";
import { buildDomainStatus } from "./views/domain-status.ts";
import { iso } from "./views/iso.ts";
import { buildReceipt, type OperatorReceipt, publicReceipt, type Receipt } from "./views/receipt.ts";

export type { RegisterInput, RegisterResult } from "./registration/registrar.ts";
export type { OperatorReceipt, Receipt } from "./views/receipt.ts";

/** One adopted key as the admin API lists it. */
export interface AdoptedKey {
  public_key: string;
  gateway: string;
  adopted_at: string;
  last_registered_at: string;
  last_live_at: string | null;
}

/** The Worker's route tells the object which gateway a socket belongs to (token checked). */
export const GATEWAY_HEADER = "X-Wgkex-Gateway";

const STATS_FLUSH_MS = 10_000;
/** A gateway's lag is counted up to this: beyond, counting it would be a scan of the whole log. */
export const LAG_CAP = 1_000;

/**
 * One object per domain, addressed by the domain's name (`getByName`), which the object
 * reads back from `ctx.id.name`. This class is the object's entry points and lifecycle
 * only: each job is a module (the log and its group commit, the gateway book, the sockets,
 * the sessions, the registrar, retention, the views). State that must survive eviction
 * lives in SQLite or in socket attachments; everything in memory is a cache the
 * constructor rebuilds.
 */
export class DomainRegistry extends DurableObject<ConfigBinding> {
  private readonly domain: string;
  private readonly log: ChangeLog;
  private readonly gateways: GatewayBook;
  private readonly events: KeyEvents;
  private readonly sockets: GatewaySockets;
  private readonly sessions: GatewaySessions;
  private readonly denyList: DenyList;
  private readonly counters: BufferedCounters;
  private readonly registrar: Registrar;
  private readonly retention: Retention;
  /** Set when this is the Parker domain: its IPAM and concentrator choice. */
  private readonly parker: ParkerService | undefined;

  constructor(ctx: DurableObjectState, env: ConfigBinding) {
    super(ctx, env);
    const domain = ctx.id.name;
    if (domain === undefined) {
      throw new Error("DomainRegistry must be addressed by its domain name (getByName or idFromName)");
    }
    this.domain = domain;
    const config = loadConfig(env);
    const { sql } = ctx.storage;
    const now = Date.now();
    migrate(sql, now, MIGRATIONS);

    this.sockets = new GatewaySockets(ctx, config.limits.enabled ? config.gateway_budget.unacked_bytes : undefined);
    this.log = new ChangeLog(ctx.storage, (changes) => this.sessions.fanOut(changes));
    this.gateways = new GatewayBook(ctx.storage, gatewaysOf(config, domain));
    this.events = new KeyEvents(sql);
    this.denyList = new DenyList(sql, now);
    this.counters = new BufferedCounters(new HourlyCounters(sql), STATS_FLUSH_MS);
    const { log, gateways, events, sockets, counters } = this;
    const repairs = new RepairRequests({
      sockets,
      log,
      gateways,
      events,
      counters,
      limiter: new RepairLimiter(undefined, now),
    });
    this.parker = parkerDomain({
      config,
      domain,
      sql,
      log,
      events,
      gateways,
      counters,
      denyList: this.denyList,
      online: () => sockets.online(),
    });
    const { parker } = this;
    this.sessions = new GatewaySessions({
      domain,
      variant: domainVariant(config, domain),
      dataplane: parker ? "parker" : "batman",
      sockets,
      log,
      gateways,
      events,
      repairs,
      onLive: parker ? (keys, now) => parker.confirm(keys, now) : undefined,
      budget: config.limits.enabled ? config.gateway_budget : undefined,
      // Adoption takes over batman-adv gateways from wgkex; a Parker node has ranges only its
      // allocation gives, so nothing found on a concentrator can become one.
      adopter: parker
        ? undefined
        : new Adopter({ domain, limits: config.adoption, log, gateways, denyList: this.denyList, counters, sql }),
    });
    this.registrar = new Registrar({
      log,
      gateways,
      events,
      counters,
      denyList: this.denyList,
      limits: new KeyLimits(config.limits, now),
      online: () => sockets.online(),
      repeated: (row, at) => repairs.repeated(row, at),
    });
    this.retention = new Retention({ retentionHours: config.retention_hours, log, gateways, events, counters });
    ctx.blockConcurrencyWhile(async () => {
      if ((await ctx.storage.getAlarm()) === null) await ctx.storage.setAlarm(now + this.retention.intervalMs);
    });
  }

  // ------------------------------------------------------------------ node API (RPC)

  register(input: RegisterInput): Promise<RegisterResult> {
    return this.registrar.register(input);
  }

  /** A key's public receipt: registration and installation, no operator or agent text. */
  receipt(publicKey: string): Receipt | undefined {
    const receipt = this.operatorReceipt(publicKey);
    return receipt && publicReceipt(receipt);
  }

  /** A key's receipt for operators (admin API), with reasons and when it was last seen live. */
  operatorReceipt(publicKey: string): OperatorReceipt | undefined {
    const row = this.log.read().registration(publicKey);
    if (row === undefined) return undefined;
    const acks = this.gateways.read();
    const installedAt = new Map<string, number>();
    for (const g of this.gateways.served) {
      const at = acks.installedAt(g.name, row.seq);
      if (at !== undefined) installedAt.set(g.name, at);
    }
    return buildReceipt({
      domain: this.domain,
      row,
      served: this.gateways.served,
      events: this.events.current(publicKey, row.seq),
      installedAt,
    });
  }

  /** Health and counts of the domain for the status page and /metrics. */
  status(): DomainStatus {
    const log = this.log.read();
    const counters = this.counters.read();
    const hour = hourOf(Date.now());
    const served = this.gateways.served;
    const rows = this.gateways.rows();
    return buildDomainStatus({
      domain: this.domain,
      head: this.log.head,
      counts: this.log.counts(),
      storageBytes: this.ctx.storage.sql.databaseSize,
      served,
      rows,
      online: this.sockets.online(),
      lag: new Map(served.map((g) => [g.name, log.pendingFor(g.name, rows.get(g.name)?.acked_seq ?? 0, LAG_CAP)])),
      adopted: log.adoptedCounts(),
      hourly: counters.perHour(hour - 23),
      totals: counters.totals(),
      hour,
      pool: this.parker?.pool(),
    });
  }

  /** A Parker node's configuration request (the Parker domain only). */
  parkerConfig(query: ParkerQuery): Promise<ParkerDecision> {
    if (this.parker === undefined) throw new Error(`${this.domain} is not the Parker domain`);
    return this.parker.handle(query);
  }

  // ------------------------------------------------------------------ admin (RPC)

  /**
   * Deny a key: never answered OK again, and removed from the gateways that have it. All or
   * nothing in this domain; returns the entry it replaced, for the admin route's undo.
   */
  deny(publicKey: string, reason: string, expiresAt: number | null): DenyEntry | null {
    const now = Date.now();
    const previous = this.denyList.entry(publicKey);
    this.denyList.add(publicKey, reason, now, expiresAt);
    try {
      this.log.retire(publicKey, `denied: ${reason}`, now);
      this.log.commit();
    } catch (error) {
      this.denyList.restore(publicKey, previous);
      throw error;
    }
    return previous;
  }

  /** Put a key's deny entry back as it was (the admin route's undo). */
  restoreDenial(publicKey: string, entry: DenyEntry | null): void {
    this.denyList.restore(publicKey, entry);
  }

  /** Lift a denial; returns the entry lifted (null when there was none), for the undo. */
  undeny(publicKey: string): DenyEntry | null {
    return this.denyList.remove(publicKey);
  }

  denylist(): DenyEntry[] {
    return this.denyList.list(Date.now());
  }

  /** Keys adopted from gateways' reports that are still desired, a page at a time (key order). */
  adopted(gateway: string | undefined, after: string, limit: number): AdoptedKey[] {
    return this.log
      .read()
      .adoptedPage(gateway, after, limit)
      .map((row) => ({
        public_key: row.public_key,
        gateway: row.adopted_by!,
        adopted_at: iso(row.adopted_at)!,
        last_registered_at: iso(row.registered_at)!,
        last_live_at: iso(row.live_at),
      }));
  }

  /** Set a gateway's drain override; returns the previous one, for the undo. */
  setDrain(gateway: string, drain: boolean): boolean {
    const previous = this.gateways.rows().get(gateway)?.drain === 1;
    this.gateways.save(gateway, { drain: drain ? 1 : 0 });
    return previous;
  }

  // ------------------------------------------------------------------ gateway sockets

  override async fetch(request: Request): Promise<Response> {
    const gateway = request.headers.get(GATEWAY_HEADER);
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket" || !gateway) {
      return new Response("expected a gateway WebSocket upgrade", { status: 426 });
    }
    return this.sockets.accept(gateway, Date.now());
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    this.sessions.message(ws, message);
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    this.closed(ws, { code, reason });
  }

  override webSocketError(ws: WebSocket): void {
    this.closed(ws);
  }

  /** Close handling never throws either: a failure to note the disconnect is only logged. */
  private closed(ws: WebSocket, close?: { code: number; reason: string }): void {
    try {
      this.sessions.closed(ws, close);
    } catch (error) {
      logLine("error", "handling a gateway socket's close failed", { domain: this.domain, error: String(error) });
    }
  }

  // ------------------------------------------------------------------ retention

  override async alarm(): Promise<void> {
    const now = Date.now();
    this.sweep(now);
    await this.ctx.storage.setAlarm(now + this.retention.intervalMs);
  }

  /** One retention sweep (and Parker's expiry) as of `now` (the alarm's work; tests pass a time in the future). */
  sweep(now: number): { removed: number; purged: number; expired: number } {
    let expired = 0;
    if (this.parker) {
      for (let page = this.parker.expire(now); page > 0; page = this.parker.expire(now)) expired += page;
      this.log.commit();
    }
    return { ...this.retention.sweep(now), expired };
  }
}
