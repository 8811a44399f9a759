import { DurableObject } from "cloudflare:workers";
import {
  type AgentFrame,
  type EdgeFrame,
  MAX_ENTRIES_PER_FRAME,
  type PeerEntry,
  PROTOCOL_VERSION,
  parseAgentFrame,
} from "@wgkex-edge/shared";
import { loadConfig } from "../config/load.ts";
import { domainVariant, type EdgeConfig, gatewaysOf } from "../config/schema.ts";
import type { Env } from "../env.ts";
import { chooseGateway, type GatewayCandidate } from "../selection/gateway-choice.ts";
import { type DomainStatus, REGISTRATION_KINDS, REJECTION_KINDS } from "../stats/status.ts";
import { KeyLimiter } from "./key-limiter.ts";
import { migrate } from "./migrations.ts";
import { ALL_GATEWAYS, type Change, framesFor, includes, replayOp } from "./peer-ops.ts";
import { type GatewayEventRow, type GatewayRow, type RegistrationRow, RegistryStore, stateOf } from "./store.ts";

export interface RegisterInput {
  domain: string;
  publicKey: string;
  version: 1 | 2;
  location?: string | undefined;
}

export interface Endpoint {
  Address: string;
  AllowedIPs: string[];
  Port: string;
  PublicKey: string;
}

export type RegisterResult =
  | { status: "ok"; endpoint?: Endpoint }
  | { status: "denied" }
  | { status: "throttled"; retryAfterS: number }
  | { status: "no-gateway" }
  | { status: "no-gateway-data" };

export type GatewayReceiptState = "installed" | "pending" | "failed" | "removed";

export interface Receipt {
  domain: string;
  public_key: string;
  state: "active" | "removed";
  seq: number;
  registered_at: string;
  last_registered_at: string;
  last_live_at: string | null;
  removed_at: string | null;
  removed_reason: string | null;
  target: string;
  gateways: Array<{ name: string; state: GatewayReceiptState; at: string | null; reason: string | null }>;
}

interface SocketAttachment {
  gateway: string;
  domain: string;
  /** Caught up: receives live changes. */
  live: boolean;
  connectedAt: number;
}

/** Close codes the edge uses on purpose; 1000 is normal. */
export const CLOSE_BAD_FRAME = 1008;
export const CLOSE_REPLACED = 4000;

// Registrations of a known key refresh `registered_at` at most this often: retention is
// measured in hours, and a write per repeated registration is what storms must not cost.
const TOUCH_INTERVAL_MS = 10 * 60_000;
const LIVE_INTERVAL_MS = 10 * 60_000;
const STATS_FLUSH_MS = 10_000;
const ACK_FLUSH_MS = 250;
const iso = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

/**
 * One object per domain: the desired peer set (SQLite), the gateways' sockets, v2 choice,
 * per-key limits, receipts and retention. State that must survive eviction lives in SQL or
 * in socket attachments; everything in memory is a cache rebuilt in the constructor.
 */
export class DomainRegistry extends DurableObject<Env> {
  private readonly store: RegistryStore;
  private readonly config: EdgeConfig;
  private readonly limiter: KeyLimiter;
  private readonly gateways = new Map<string, GatewayRow>();
  /** v2 answers since the gateway's last load report (wgkex adds 1 per answer). */
  private readonly assigned = new Map<string, number>();
  private pending: Change[] = [];
  /** Registrations decided but not yet written: the next group commit. */
  private batch: Array<{ row: RegistrationRow; change: Change }> = [];
  private batchDone: PromiseWithResolvers<void> | undefined;
  private readonly uncommitted = new Map<string, RegistrationRow>();
  // Memory mirrors of small tables, so a repeated registration costs one SQL read.
  private readonly deniedKeys = new Map<string, number | null>();
  private readonly eventKeys = new Set<string>();
  /** Acks arrive per frame; they are written together, a few times a second. */
  private pendingAcks: Array<{ gateway: string; seq: number; at: number }> = [];
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private head: number;
  private stats = new Map<string, number>();
  private statsFlushedAt = Date.now();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = loadConfig(env);
    this.store = new RegistryStore(ctx.storage.sql);
    const now = Date.now();
    migrate(ctx.storage.sql, now);
    this.head = this.store.headSeq();
    for (const row of this.store.gateways()) this.gateways.set(row.name, row);
    for (const entry of this.store.denylist(now)) this.deniedKeys.set(entry.public_key, entry.expires_at);
    for (const key of this.store.eventKeys()) this.eventKeys.add(key);
    this.limiter = new KeyLimiter(this.config.limits);
    for (const ban of this.store.bans(now)) this.limiter.restoreBan(ban.public_key, ban.until);
    ctx.blockConcurrencyWhile(async () => {
      if ((await ctx.storage.getAlarm()) === null) await ctx.storage.setAlarm(now + this.sweepIntervalMs());
    });
  }

  // ------------------------------------------------------------------ node API (RPC)

  async register(input: RegisterInput): Promise<RegisterResult> {
    this.rememberDomain(input.domain);
    const now = Date.now();
    const key = input.publicKey;
    if (this.isDenied(key, now)) {
      this.count("denied");
      return { status: "denied" };
    }
    if (this.config.limits.enabled) {
      const verdict = this.limiter.check(key, now);
      if (!verdict.allowed) {
        if (verdict.newBan) this.store.ban(key, now + verdict.retryAfterS * 1000);
        this.count(verdict.banned ? "banned" : "throttled");
        return { status: "throttled", retryAfterS: verdict.retryAfterS };
      }
    }

    const existing = this.uncommitted.get(key) ?? this.store.registration(key);
    let target = ALL_GATEWAYS;
    let endpoint: Endpoint | undefined;
    if (input.version === 2) {
      const previous =
        existing && existing.removed_at === null && existing.target !== ALL_GATEWAYS ? existing.target : undefined;
      const choice = chooseGateway(this.candidates(), { previous, location: input.location });
      if (choice.gateway === undefined) {
        this.count("no_gateway");
        return { status: "no-gateway" };
      }
      endpoint = this.endpointOf(choice.gateway);
      if (endpoint === undefined) return { status: "no-gateway-data" };
      target = choice.gateway;
      if (choice.reason !== "sticky") this.assigned.set(target, (this.assigned.get(target) ?? 0) + 1);
    }

    if (existing === undefined || this.needsChange(existing, target)) {
      const row: RegistrationRow = {
        public_key: key,
        seq: ++this.head,
        target,
        first_registered_at: existing?.first_registered_at ?? now,
        registered_at: now,
        live_at: existing?.removed_at === null ? existing.live_at : null,
        removed_at: null,
        removed_reason: null,
      };
      this.count(existing === undefined ? "new" : "changed");
      this.count(`v${input.version}`);
      await this.commit(row, {
        seq: row.seq,
        publicKey: key,
        before: existing && stateOf(existing),
        after: stateOf(row),
      });
      return endpoint ? { status: "ok", endpoint } : { status: "ok" };
    }
    if (now - existing.registered_at >= TOUCH_INTERVAL_MS) this.store.touchRegistration(key, now);
    this.count("repeated");
    this.count(`v${input.version}`);
    return endpoint ? { status: "ok", endpoint } : { status: "ok" };
  }

  /**
   * Group commit: changes of registrations that arrive together are written in one
   * transaction (one durable write instead of one per request), then fanned out. Each
   * caller resumes after the write ran; the output gate holds its answer (and the frames)
   * until the write is durable, so "200" still means "stored".
   */
  private commit(row: RegistrationRow, change: Change): Promise<void> {
    this.stage(row, change);
    if (this.batchDone === undefined) {
      this.batchDone = Promise.withResolvers<void>();
      setTimeout(() => {
        try {
          this.commitBatch();
        } catch {
          // the waiters were rejected with the error
        }
      }, 0);
    }
    return this.batchDone.promise;
  }

  /** A decided change joins the next group commit; reads see it through `uncommitted`. */
  private stage(row: RegistrationRow, change: Change): void {
    this.uncommitted.set(row.public_key, row);
    this.batch.push({ row, change });
  }

  /**
   * Write the staged changes in one transaction, then fan them out and release the callers
   * waiting for them. Also called before anything reads the log. If the write fails, every
   * waiter gets the error: nobody is told "stored" for a row that is not.
   */
  private commitBatch(): void {
    const batch = this.batch;
    const done = this.batchDone;
    this.batch = [];
    this.batchDone = undefined;
    try {
      if (batch.length > 0) {
        this.ctx.storage.transactionSync(() => {
          for (const { row } of batch) this.store.writeRegistration(row);
        });
      }
    } catch (error) {
      done?.reject(error);
      throw error;
    } finally {
      for (const { row } of batch)
        if (this.uncommitted.get(row.public_key) === row) this.uncommitted.delete(row.public_key);
    }
    this.pending.push(...batch.map((b) => b.change));
    this.flush();
    done?.resolve();
  }

  /**
   * A known key needs a new seq (a write and a fan-out) only when what gateways should
   * have changes or a gateway lost it: removed, re-targeted, or reported failed/removed.
   * Otherwise a repeated registration is answered from what is stored.
   */
  private needsChange(existing: RegistrationRow, target: string): boolean {
    if (existing.removed_at !== null || existing.target !== target) return true;
    if (!this.eventKeys.has(existing.public_key)) return false;
    return this.store.currentEvents(existing.public_key, existing.seq).length > 0;
  }

  private isDenied(key: string, now: number): boolean {
    if (!this.deniedKeys.has(key)) return false;
    const expiresAt = this.deniedKeys.get(key);
    if (expiresAt !== null && expiresAt !== undefined && expiresAt <= now) {
      this.deniedKeys.delete(key);
      return false;
    }
    return true;
  }

  private recordEvent(event: GatewayEventRow & { public_key: string }): void {
    this.store.recordEvent(event);
    this.eventKeys.add(event.public_key);
  }

  private candidates(): GatewayCandidate[] {
    const online = this.onlineGateways();
    return gatewaysOf(this.config, this.domainName()).map((g) => {
      const row = this.gateways.get(g.name);
      const bump = this.assigned.get(g.name) ?? 0;
      return {
        name: g.name,
        weight: g.weight,
        location: g.location,
        cap: g.cap,
        drain: g.drain || row?.drain === 1,
        online: online.has(g.name),
        connected: row?.connected === null || row?.connected === undefined ? undefined : row.connected + bump,
        load: (row?.load ?? 0) + bump,
      };
    });
  }

  private endpointOf(gateway: string): Endpoint | undefined {
    const row = this.gateways.get(gateway);
    if (!row?.public_key || !row.address || !row.link_address || !row.port) return undefined;
    return { Address: row.address, AllowedIPs: [row.link_address], Port: String(row.port), PublicKey: row.public_key };
  }

  receipt(domain: string, publicKey: string): Receipt | undefined {
    this.rememberDomain(domain);
    this.commitBatch();
    this.flushAcks();
    const row = this.store.registration(publicKey);
    if (row === undefined) return undefined;
    const events = new Map(this.store.currentEvents(publicKey, row.seq).map((e) => [e.gateway, e]));
    const gateways = gatewaysOf(this.config, this.domainName())
      .filter((g) => row.removed_at !== null || includes(stateOf(row), g.name))
      .map((g) => {
        const event = events.get(g.name);
        if (event) return { name: g.name, state: event.kind, at: iso(event.at), reason: event.reason };
        const installedAt = this.store.installedAt(g.name, row.seq);
        if (row.removed_at !== null) {
          return { name: g.name, state: "removed" as const, at: iso(installedAt ?? null), reason: row.removed_reason };
        }
        return installedAt === undefined
          ? { name: g.name, state: "pending" as const, at: null, reason: null }
          : { name: g.name, state: "installed" as const, at: iso(installedAt), reason: null };
      });
    return {
      domain: this.domainName(),
      public_key: publicKey,
      state: row.removed_at === null ? "active" : "removed",
      seq: row.seq,
      registered_at: iso(row.first_registered_at)!,
      last_registered_at: iso(row.registered_at)!,
      last_live_at: iso(row.live_at),
      removed_at: iso(row.removed_at),
      removed_reason: row.removed_reason,
      target: row.target,
      gateways,
    };
  }

  /** Health and counts of the domain for the status page and /metrics. */
  status(domain: string): DomainStatus {
    this.rememberDomain(domain);
    this.commitBatch();
    this.flushAcks();
    this.flushStats();
    const now = Date.now();
    const hour = Math.floor(now / 3_600_000);
    const hourly = this.store.stats(hour - 23);
    const sum = (kinds: readonly string[], fromHour: number) =>
      hourly.filter((r) => r.hour >= fromHour && kinds.includes(r.kind)).reduce((n, r) => n + r.count, 0);
    const rejections: Record<string, number> = {};
    for (const r of hourly) if (r.kind in REJECTION_KINDS) rejections[r.kind] = (rejections[r.kind] ?? 0) + r.count;
    const online = this.onlineGateways();
    const counts = this.store.counts();
    return {
      domain,
      head: this.head,
      desired_peers: counts.active,
      tombstones: counts.removed,
      storage_bytes: this.store.databaseSize(),
      gateways: gatewaysOf(this.config, domain).map((g) => {
        const row = this.gateways.get(g.name);
        return {
          name: g.name,
          weight: g.weight,
          location: g.location ?? null,
          drain: g.drain || row?.drain === 1,
          online: online.has(g.name),
          connected: row?.connected ?? null,
          load: row?.load ?? null,
          installed: row?.peers ?? null,
          acked_seq: row?.acked_seq ?? 0,
          lag: this.store.pendingFor(g.name, row?.acked_seq ?? 0),
          last_report: iso(row?.reported_at),
          last_ack: iso(row?.acked_at),
          connected_since: online.has(g.name) ? iso(row?.connected_at) : null,
          endpoint:
            row?.address && row.port && row.public_key
              ? { address: row.address, port: row.port, public_key: row.public_key }
              : null,
        };
      }),
      registrations: { last_hour: sum(REGISTRATION_KINDS, hour), last_day: sum(REGISTRATION_KINDS, hour - 23) },
      rejections_last_day: rejections,
      totals: this.store.counters(),
    };
  }

  // ------------------------------------------------------------------ admin (RPC)

  /** Deny a key: never answered OK again, and removed from the gateways that have it. */
  deny(domain: string, publicKey: string, reason: string, expiresAt: number | null): void {
    this.rememberDomain(domain);
    const now = Date.now();
    this.store.deny(publicKey, reason, now, expiresAt);
    this.deniedKeys.set(publicKey, expiresAt);
    this.remove(publicKey, `denied: ${reason}`, now);
    this.commitBatch();
  }

  undeny(publicKey: string): boolean {
    this.deniedKeys.delete(publicKey);
    return this.store.undeny(publicKey);
  }

  denylist(): Array<{ public_key: string; reason: string; created_at: number; expires_at: number | null }> {
    return this.store.denylist(Date.now());
  }

  setDrain(gateway: string, drain: boolean): void {
    this.saveGateway(gateway, { drain: drain ? 1 : 0 });
  }

  // ------------------------------------------------------------------ gateway sockets

  override async fetch(request: Request): Promise<Response> {
    const gateway = request.headers.get("X-Wgkex-Gateway");
    const domain = request.headers.get("X-Wgkex-Domain");
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket" || !gateway || !domain) {
      return new Response("expected a gateway WebSocket upgrade", { status: 426 });
    }
    this.rememberDomain(domain);
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, [gateway]);
    const attachment: SocketAttachment = { gateway, domain, live: false, connectedAt: Date.now() };
    server.serializeAttachment(attachment);
    return new Response(null, { status: 101, webSocket: client });
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    const attachment = ws.deserializeAttachment() as SocketAttachment | null;
    if (attachment === null) return;
    const parsed = parseAgentFrame(message);
    if (!parsed.ok) {
      this.closeWithError(ws, "bad_frame", parsed.reason, CLOSE_BAD_FRAME);
      return;
    }
    this.handleFrame(ws, attachment, parsed.frame);
  }

  private handleFrame(ws: WebSocket, attachment: SocketAttachment, frame: AgentFrame): void {
    const now = Date.now();
    const { gateway } = attachment;
    switch (frame.type) {
      case "hello":
        this.welcome(ws, attachment, frame.since, frame.snapshot === true, now);
        return;
      case "ack": {
        const cached = this.gateways.get(gateway);
        if (cached) {
          cached.acked_seq = Math.max(cached.acked_seq, frame.seq);
          cached.acked_at = now;
        }
        this.pendingAcks.push({ gateway, seq: frame.seq, at: now });
        this.ackTimer ??= setTimeout(() => this.flushAcks(), ACK_FLUSH_MS);
        for (const failure of frame.failed ?? []) {
          const row = this.store.registration(failure.public_key);
          if (row) this.recordEvent({ ...failure, gateway, kind: "failed", at: now, seq: row.seq });
        }
        return;
      }
      case "interface":
        this.saveGateway(gateway, {
          public_key: frame.public_key,
          port: frame.port,
          address: frame.address,
          link_address: frame.link_address,
          interface_at: now,
        });
        return;
      case "load":
        this.saveGateway(gateway, {
          connected: frame.connected,
          load: frame.load,
          peers: frame.peers,
          reported_at: now,
        });
        this.assigned.delete(gateway);
        return;
      case "live":
        this.store.markLive(frame.keys, now, now - LIVE_INTERVAL_MS);
        return;
      case "removed":
        for (const entry of frame.entries) {
          const row = this.store.registration(entry.public_key);
          if (row && row.removed_at === null) {
            this.recordEvent({ ...entry, gateway, kind: "removed", seq: row.seq });
          }
        }
        return;
    }
  }

  /**
   * Bring a gateway up to date in one synchronous step: no registration can slip between
   * reading the backlog and marking the socket live, so nothing is missed or reordered.
   */
  private welcome(
    ws: WebSocket,
    attachment: SocketAttachment,
    since: number,
    wantSnapshot: boolean,
    now: number,
  ): void {
    const { gateway, domain } = attachment;
    if (!gatewaysOf(this.config, domain).some((g) => g.name === gateway)) {
      this.closeWithError(ws, "not_configured", `gateway ${gateway} does not serve ${domain}`, CLOSE_BAD_FRAME);
      return;
    }
    this.commitBatch(); // everything up to head is in the log before the backlog is read
    this.flush(); // queued changes go out to the sockets already live, not twice to this one
    for (const other of this.ctx.getWebSockets(gateway)) {
      if (other !== ws)
        this.closeWithError(other, "replaced", "a newer connection of this gateway took over", CLOSE_REPLACED);
    }
    const head = this.head;
    const snapshot = wantSnapshot || since === 0 || since < this.store.purgedSeq() || since > head;
    const variant = domainVariant(this.config, domain);
    this.send(ws, {
      type: "welcome",
      v: PROTOCOL_VERSION,
      domain,
      gateway,
      mode: snapshot ? "snapshot" : "replay",
      head,
      variant,
    });
    if (snapshot) {
      let after = 0;
      for (;;) {
        const page = this.store.desiredPage(gateway, after, MAX_ENTRIES_PER_FRAME);
        const done = page.length < MAX_ENTRIES_PER_FRAME;
        this.send(ws, { type: "snapshot", head, keys: page.map((r) => r.public_key), done });
        if (done) break;
        after = page.at(-1)!.seq;
      }
    } else {
      let after = since;
      for (;;) {
        const page = this.store.changesAfter(after, MAX_ENTRIES_PER_FRAME);
        if (page.length === 0) break;
        const entries: PeerEntry[] = page.map((r) => replayOp(r.seq, r.public_key, stateOf(r), gateway));
        this.send(ws, { type: "peers", entries });
        after = page.at(-1)!.seq;
        if (page.length < MAX_ENTRIES_PER_FRAME) break;
      }
    }
    // A resuming agent has installed everything up to `since`: that is a cumulative ack,
    // and it may be the only one left if the edge restarted before writing the last acks.
    if (!snapshot && since > (this.gateways.get(gateway)?.acked_seq ?? 0)) {
      this.flushAcks();
      this.store.recordAck(gateway, since, now);
    }
    ws.serializeAttachment({ ...attachment, live: true } satisfies SocketAttachment);
    this.saveGateway(gateway, { connected_at: now });
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    // Reciprocate, or a Node client sees 1006 after a timeout instead of a clean close.
    if (code !== 1005 && code !== 1006 && code !== 1015) {
      try {
        ws.close(code, reason);
      } catch {
        // already closing
      }
    }
    this.socketGone(ws);
  }

  override webSocketError(ws: WebSocket): void {
    this.socketGone(ws);
  }

  private socketGone(ws: WebSocket): void {
    const attachment = ws.deserializeAttachment() as SocketAttachment | null;
    if (attachment && !this.onlineGateways(ws).has(attachment.gateway)) {
      this.saveGateway(attachment.gateway, { disconnected_at: Date.now() });
    }
  }

  /** Gateways with an open, caught-up socket (CLOSING ones do not count). */
  private onlineGateways(except?: WebSocket): Set<string> {
    const online = new Set<string>();
    for (const ws of this.ctx.getWebSockets()) {
      if (ws === except || ws.readyState !== WebSocket.OPEN) continue;
      const a = ws.deserializeAttachment() as SocketAttachment | null;
      if (a?.live) online.add(a.gateway);
    }
    return online;
  }

  private send(ws: WebSocket, frame: EdgeFrame): boolean {
    if (ws.readyState !== WebSocket.OPEN) return false;
    try {
      ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  private closeWithError(
    ws: WebSocket,
    code: "bad_frame" | "not_configured" | "replaced",
    message: string,
    closeCode: number,
  ): void {
    this.send(ws, { type: "error", code, message: message.slice(0, 500) });
    try {
      ws.close(closeCode, code);
    } catch {
      // already closing
    }
  }

  // ------------------------------------------------------------------ fan-out

  /** Send committed changes to every caught-up gateway, in frames of at most 1,000 entries. */
  private flush(): void {
    if (this.pending.length === 0) return;
    const changes = this.pending;
    this.pending = [];
    for (const ws of this.ctx.getWebSockets()) {
      const a = ws.deserializeAttachment() as SocketAttachment | null;
      if (!a?.live) continue;
      for (const entries of framesFor(changes, a.gateway, MAX_ENTRIES_PER_FRAME))
        this.send(ws, { type: "peers", entries });
    }
  }

  // ------------------------------------------------------------------ retention

  /** Stage the removal of a key (a tombstone with a new seq); the caller commits. */
  private remove(publicKey: string, reason: string, now: number): void {
    const existing = this.uncommitted.get(publicKey) ?? this.store.registration(publicKey);
    if (existing === undefined || existing.removed_at !== null) return;
    const row: RegistrationRow = { ...existing, seq: ++this.head, removed_at: now, removed_reason: reason };
    this.stage(row, { seq: row.seq, publicKey, before: stateOf(existing), after: stateOf(row) });
  }

  private retentionMs(): number {
    return this.config.retention_hours * 3_600_000;
  }

  private sweepIntervalMs(): number {
    return Math.min(3_600_000, this.retentionMs() / 4);
  }

  /** Retention: drop keys nobody registered or saw live, then tombstones, old acks, stats. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.sweep(now);
    await this.ctx.storage.setAlarm(now + this.sweepIntervalMs());
  }

  sweep(now: number): { removed: number; purged: number } {
    this.commitBatch();
    this.flushAcks();
    const cutoff = now - this.retentionMs();
    let removed = 0;
    for (;;) {
      const expired = this.store.expired(cutoff, 1000);
      for (const row of expired) this.remove(row.public_key, "retention", now);
      this.commitBatch(); // the next page must not see these again
      removed += expired.length;
      if (expired.length < 1000) break;
    }
    const purged = this.store.purgeTombstones(cutoff);
    this.store.pruneAcks(cutoff);
    this.flushStats();
    this.store.pruneStats(Math.floor(now / 3_600_000) - 24 * 8);
    return { removed, purged };
  }

  // ------------------------------------------------------------------ bookkeeping

  /** Write the acks received since the last flush, in one transaction. */
  private flushAcks(): void {
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.pendingAcks.length === 0) return;
    const acks = this.pendingAcks;
    this.pendingAcks = [];
    this.ctx.storage.transactionSync(() => {
      for (const ack of acks) this.store.recordAck(ack.gateway, ack.seq, ack.at);
    });
  }

  /** Write a gateway's fields and refresh the in-memory copy v2 reads. */
  private saveGateway(name: string, fields: Parameters<RegistryStore["updateGateway"]>[1]): void {
    this.store.updateGateway(name, fields);
    this.reloadGateway(name);
  }

  private reloadGateway(name: string): void {
    this.flushAcks(); // the cached acked_seq may be ahead of the table
    const row = this.store.gateways().find((g) => g.name === name);
    if (row) this.gateways.set(name, row);
  }

  private domainCache: string | undefined;
  private rememberDomain(domain: string): void {
    if (this.domainCache === domain) return;
    if (this.store.getMeta("domain") !== domain) this.store.setMeta("domain", domain);
    this.domainCache = domain;
  }

  private domainName(): string {
    this.domainCache ??= String(this.store.getMeta("domain") ?? "");
    return this.domainCache;
  }

  /**
   * Counters for the status page, written at most every few seconds instead of a write per
   * registration, and without a timer: a pending timer would keep the object from
   * hibernating. What an eviction loses is at most the last few seconds of counts.
   */
  private count(kind: string, now = Date.now()): void {
    this.stats.set(kind, (this.stats.get(kind) ?? 0) + 1);
    if (now - this.statsFlushedAt >= STATS_FLUSH_MS) this.flushStats();
  }

  private flushStats(): void {
    const now = Date.now();
    this.statsFlushedAt = now;
    for (const [kind, n] of this.stats) this.store.countStat(kind, now, n);
    this.stats = new Map();
  }
}
