import { isExternalAddress } from "@wgkex-edge/shared";
import type { GatewayConfig } from "../../config/schema.ts";
import type { GatewayCandidate } from "../../selection/gateway-choice.ts";
import { type GatewayFields, type GatewayRow, GatewaysTable } from "./gateways-table.ts";

/** A v2 answer: how a node reaches the gateway chosen for it (wgkex's field names). */
export interface Endpoint {
  Address: string;
  AllowedIPs: string[];
  Port: string;
  PublicKey: string;
}

/** What may be read of the gateway tables: only after buffered acks are written. */
export type FlushedGateways = Pick<GatewaysTable, "installedAt" | "pruneAcks">;

const ACK_FLUSH_MS = 250;

/**
 * The domain's gateways as the object knows them: a memory copy of their rows (v2 reads it
 * on every request), the acks they sent, and the answers v2 gave since their last load
 * report. Rules that live here:
 * - acks arrive per frame and are written together a few times a second; the cached rows
 *   include them at once;
 * - flush before read: the tables are only reachable through `read()`, which writes the
 *   buffered acks first, so a receipt never misses an ack the gateway already sent.
 */
export class GatewayBook {
  /** Gateways of the domain, in configuration order (ties in the v2 choice go to the first). */
  readonly served: readonly GatewayConfig[];
  private readonly table: GatewaysTable;
  private readonly storage: DurableObjectStorage;
  private readonly cache = new Map<string, GatewayRow>();
  /** v2 answers since the gateway's last load report (wgkex adds 1 per answer). */
  private readonly assigned = new Map<string, number>();
  private pendingAcks: Array<{ gateway: string; seq: number; at: number }> = [];
  private ackTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(storage: DurableObjectStorage, served: readonly GatewayConfig[]) {
    this.storage = storage;
    this.table = new GatewaysTable(storage.sql);
    this.served = served;
    for (const row of this.table.all()) this.cache.set(row.name, row);
  }

  serves(gateway: string): boolean {
    return this.served.some((g) => g.name === gateway);
  }

  /** Every gateway's row as of now (buffered acks included), by name. */
  rows(): ReadonlyMap<string, GatewayRow> {
    return this.cache;
  }

  /** Every gateway's public key for this domain, as their `interface` frames said: never a node's key. */
  publicKeys(): Set<string> {
    const keys = new Set<string>();
    for (const row of this.cache.values()) if (row.public_key) keys.add(row.public_key);
    return keys;
  }

  /** Write a gateway's fields and refresh the memory copy v2 reads. */
  save(gateway: string, fields: GatewayFields): void {
    this.table.update(gateway, fields);
    this.reload(gateway);
  }

  /** A load report: v2 counts from the reported numbers again. */
  reported(gateway: string, load: Pick<GatewayFields, "connected" | "load" | "peers" | "reported_at">): void {
    this.save(gateway, load);
    this.assigned.delete(gateway);
  }

  /** A cumulative ack; one that does not go past the gateway's last adds nothing. */
  ack(gateway: string, seq: number, at: number): void {
    const cached = this.cache.get(gateway);
    if (cached && seq <= cached.acked_seq) return;
    if (cached) {
      cached.acked_seq = Math.max(cached.acked_seq, seq);
      cached.acked_at = at;
    }
    this.pendingAcks.push({ gateway, seq, at });
    this.ackTimer ??= setTimeout(() => this.flushAcks(), ACK_FLUSH_MS);
  }

  /**
   * A resuming agent has installed everything up to `since`: a cumulative ack, and maybe
   * the only one left if the object restarted before writing the last acks.
   */
  resumed(gateway: string, since: number, at: number): void {
    if (since <= (this.cache.get(gateway)?.acked_seq ?? 0)) return;
    this.flushAcks();
    this.table.recordAck(gateway, since, at);
    this.reload(gateway);
  }

  /** The tables, after the buffered acks are written. */
  read(): FlushedGateways {
    this.flushAcks();
    return this.table;
  }

  /** A key one of the domain's gateways announced as its own interface's (never a node's). */
  isGatewayKey(publicKey: string): boolean {
    return this.served.some((g) => this.cache.get(g.name)?.public_key === publicKey);
  }

  /** Count a v2 answer for the gateway until its next load report. */
  assign(gateway: string): void {
    this.shift(gateway, 1);
  }

  /** Nodes sent to (+) or taken from (−) a gateway since its last load report (Parker moves both ways). */
  shift(gateway: string, delta: number): void {
    this.assigned.set(gateway, (this.assigned.get(gateway) ?? 0) + delta);
  }

  /** The interpolation on top of the gateway's last reported count. */
  bump(gateway: string): number {
    return this.assigned.get(gateway) ?? 0;
  }

  /** What v2's choice needs of each gateway serving the domain. */
  candidates(online: ReadonlySet<string>): GatewayCandidate[] {
    return this.served.map((g) => {
      const row = this.cache.get(g.name);
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

  /**
   * The v2 answer for a gateway, or undefined until it reported a usable interface: an IP
   * literal as address is not (FFMUC's client runs nslookup on it and gives up), so v2
   * answers wgkex's "could not get gateway data" rather than a tunnel that never comes up.
   */
  endpointOf(gateway: string): Endpoint | undefined {
    const row = this.cache.get(gateway);
    if (!row?.public_key || !isExternalAddress(row.address) || !row.link_address || !row.port) return undefined;
    return { Address: row.address, AllowedIPs: [row.link_address], Port: String(row.port), PublicKey: row.public_key };
  }

  private reload(gateway: string): void {
    this.flushAcks(); // the cached acked_seq may be ahead of the table
    const row = this.table.row(gateway);
    if (row) this.cache.set(gateway, row);
  }

  /** Write the acks received since the last flush, in one transaction. */
  private flushAcks(): void {
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.pendingAcks.length === 0) return;
    const acks = this.pendingAcks;
    this.pendingAcks = [];
    this.storage.transactionSync(() => {
      for (const ack of acks) this.table.recordAck(ack.gateway, ack.seq, ack.at);
    });
  }
}
