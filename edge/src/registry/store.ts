import { ALL_GATEWAYS, type RegistrationState } from "./peer-ops.ts";

export interface RegistrationRow {
  public_key: string;
  seq: number;
  target: string;
  first_registered_at: number;
  registered_at: number;
  live_at: number | null;
  removed_at: number | null;
  removed_reason: string | null;
}

export interface GatewayRow {
  name: string;
  acked_seq: number;
  acked_at: number | null;
  public_key: string | null;
  port: number | null;
  address: string | null;
  link_address: string | null;
  interface_at: number | null;
  connected: number | null;
  load: number | null;
  peers: number | null;
  reported_at: number | null;
  connected_at: number | null;
  disconnected_at: number | null;
  drain: number;
}

export interface GatewayEventRow {
  gateway: string;
  kind: "failed" | "removed";
  reason: string;
  at: number;
  seq: number;
}

export const stateOf = (row: Pick<RegistrationRow, "target" | "removed_at">): RegistrationState => ({
  target: row.target,
  removed: row.removed_at !== null,
});

type Row = Record<string, SqlStorageValue>;

/**
 * Every SQL statement of a domain's object. All methods are synchronous: SQLite in a
 * Durable Object runs in-process, and statements with no await between them are atomic.
 */
export class RegistryStore {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
  }

  private all<T>(query: string, ...bindings: unknown[]): T[] {
    return this.sql.exec<Row>(query, ...bindings).toArray() as unknown as T[];
  }

  private first<T>(query: string, ...bindings: unknown[]): T | undefined {
    return this.all<T>(query, ...bindings)[0];
  }

  getMeta(key: string): SqlStorageValue | undefined {
    return this.first<{ value: SqlStorageValue }>("SELECT value FROM meta WHERE key = ?", key)?.value;
  }

  setMeta(key: string, value: SqlStorageValue): void {
    this.sql.exec(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }

  /** Highest seq ever handed out: the live rows' maximum, or what purging remembered. */
  headSeq(): number {
    const live = this.first<{ s: number | null }>("SELECT MAX(seq) AS s FROM registrations")?.s ?? 0;
    return Math.max(live, Number(this.getMeta("purged_seq") ?? 0));
  }

  purgedSeq(): number {
    return Number(this.getMeta("purged_seq") ?? 0);
  }

  registration(publicKey: string): RegistrationRow | undefined {
    return this.first<RegistrationRow>("SELECT * FROM registrations WHERE public_key = ?", publicKey);
  }

  /** Store a change of a key with its new seq (insert, re-target, revive or remove). */
  writeRegistration(row: RegistrationRow): void {
    this.sql.exec(
      `INSERT INTO registrations (public_key, seq, target, first_registered_at, registered_at, live_at, removed_at, removed_reason)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (public_key) DO UPDATE SET seq = excluded.seq, target = excluded.target,
         registered_at = excluded.registered_at, live_at = excluded.live_at,
         removed_at = excluded.removed_at, removed_reason = excluded.removed_reason`,
      row.public_key,
      row.seq,
      row.target,
      row.first_registered_at,
      row.registered_at,
      row.live_at,
      row.removed_at,
      row.removed_reason,
    );
  }

  touchRegistration(publicKey: string, at: number): void {
    this.sql.exec("UPDATE registrations SET registered_at = ? WHERE public_key = ?", at, publicKey);
  }

  /** Changes after `since`, ascending, one page. */
  changesAfter(since: number, limit: number): RegistrationRow[] {
    return this.all<RegistrationRow>("SELECT * FROM registrations WHERE seq > ? ORDER BY seq LIMIT ?", since, limit);
  }

  /** The desired set of one gateway, one page after `afterSeq`. */
  desiredPage(gateway: string, afterSeq: number, limit: number): Array<{ public_key: string; seq: number }> {
    return this.all(
      `SELECT public_key, seq FROM registrations
       WHERE removed_at IS NULL AND (target = ? OR target = ?) AND seq > ? ORDER BY seq LIMIT ?`,
      ALL_GATEWAYS,
      gateway,
      afterSeq,
      limit,
    );
  }

  /** Events (failure, removal) that still apply to the key's current change. */
  currentEvents(publicKey: string, seq: number): GatewayEventRow[] {
    return this.all<GatewayEventRow>(
      "SELECT gateway, kind, reason, at, seq FROM gateway_events WHERE public_key = ? AND seq >= ?",
      publicKey,
      seq,
    );
  }

  /** Keys with any recorded event: the repeated-registration path checks this set first. */
  eventKeys(): string[] {
    return this.all<{ public_key: string }>("SELECT DISTINCT public_key FROM gateway_events").map((r) => r.public_key);
  }

  recordEvent({
    public_key: publicKey,
    gateway,
    kind,
    reason,
    at,
    seq,
  }: GatewayEventRow & { public_key: string }): void {
    this.sql.exec(
      `INSERT INTO gateway_events (public_key, gateway, kind, reason, at, seq) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (public_key, gateway) DO UPDATE SET kind = excluded.kind, reason = excluded.reason, at = excluded.at, seq = excluded.seq`,
      publicKey,
      gateway,
      kind,
      reason,
      at,
      seq,
    );
  }

  /** Mark keys live (coarsely: only rows not marked within `staleBefore`). */
  markLive(keys: readonly string[], at: number, staleBefore: number): number {
    let written = 0;
    for (const key of keys) {
      written += this.sql.exec(
        "UPDATE registrations SET live_at = ? WHERE public_key = ? AND removed_at IS NULL AND (live_at IS NULL OR live_at < ?)",
        at,
        key,
        staleBefore,
      ).rowsWritten;
    }
    return written;
  }

  /** Keys neither registered nor live since `before`. */
  expired(before: number, limit: number): RegistrationRow[] {
    return this.all<RegistrationRow>(
      `SELECT * FROM registrations WHERE removed_at IS NULL AND registered_at < ?
       AND (live_at IS NULL OR live_at < ?) ORDER BY seq LIMIT ?`,
      before,
      before,
      limit,
    );
  }

  /** Drop tombstones removed before `before`, remembering the highest seq dropped. */
  purgeTombstones(before: number): number {
    const max = this.first<{ s: number | null }>(
      "SELECT MAX(seq) AS s FROM registrations WHERE removed_at IS NOT NULL AND removed_at < ?",
      before,
    )?.s;
    if (max === null || max === undefined) return 0;
    const purged = this.sql.exec(
      "DELETE FROM registrations WHERE removed_at IS NOT NULL AND removed_at < ?",
      before,
    ).rowsWritten;
    this.setMeta("purged_seq", Math.max(this.purgedSeq(), max));
    return purged;
  }

  pruneAcks(before: number): void {
    // Keep each gateway's newest ack so receipts of old keys still resolve.
    this.sql.exec(
      "DELETE FROM acks WHERE at < ? AND seq < (SELECT MAX(seq) FROM acks AS newest WHERE newest.gateway = acks.gateway)",
      before,
    );
    this.sql.exec("DELETE FROM gateway_events WHERE at < ?", before);
  }

  gateways(): GatewayRow[] {
    return this.all<GatewayRow>("SELECT * FROM gateways");
  }

  ensureGateway(name: string): void {
    this.sql.exec("INSERT INTO gateways (name) VALUES (?) ON CONFLICT (name) DO NOTHING", name);
  }

  updateGateway(name: string, fields: Partial<Omit<GatewayRow, "name">>): void {
    const entries = Object.entries(fields);
    if (entries.length === 0) return;
    this.ensureGateway(name);
    this.sql.exec(
      `UPDATE gateways SET ${entries.map(([column]) => `${column} = ?`).join(", ")} WHERE name = ?`,
      ...entries.map(([, value]) => value),
      name,
    );
  }

  recordAck(gateway: string, seq: number, at: number): void {
    this.sql.exec("INSERT INTO acks (gateway, seq, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", gateway, seq, at);
    this.sql.exec("UPDATE gateways SET acked_seq = MAX(acked_seq, ?), acked_at = ? WHERE name = ?", seq, at, gateway);
  }

  /** When gateway g first acknowledged a seq >= `seq`. */
  installedAt(gateway: string, seq: number): number | undefined {
    return this.first<{ at: number }>(
      "SELECT at FROM acks WHERE gateway = ? AND seq >= ? ORDER BY seq LIMIT 1",
      gateway,
      seq,
    )?.at;
  }

  deny(publicKey: string, reason: string, now: number, expiresAt: number | null): void {
    this.sql.exec(
      `INSERT INTO denylist (public_key, reason, created_at, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (public_key) DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at, expires_at = excluded.expires_at`,
      publicKey,
      reason,
      now,
      expiresAt,
    );
  }

  undeny(publicKey: string): boolean {
    return this.sql.exec("DELETE FROM denylist WHERE public_key = ?", publicKey).rowsWritten > 0;
  }

  denylist(now: number): Array<{ public_key: string; reason: string; created_at: number; expires_at: number | null }> {
    this.sql.exec("DELETE FROM denylist WHERE expires_at IS NOT NULL AND expires_at <= ?", now);
    return this.all("SELECT public_key, reason, created_at, expires_at FROM denylist ORDER BY created_at");
  }

  bans(now: number): Array<{ public_key: string; until: number }> {
    this.sql.exec("DELETE FROM bans WHERE until <= ?", now);
    return this.all("SELECT public_key, until FROM bans");
  }

  ban(publicKey: string, until: number): void {
    this.sql.exec(
      "INSERT INTO bans (public_key, until) VALUES (?, ?) ON CONFLICT (public_key) DO UPDATE SET until = excluded.until",
      publicKey,
      until,
    );
  }

  countStat(kind: string, at: number, by = 1): void {
    const hour = Math.floor(at / 3_600_000);
    this.sql.exec(
      "INSERT INTO hourly_stats (hour, kind, count) VALUES (?, ?, ?) ON CONFLICT (hour, kind) DO UPDATE SET count = count + excluded.count",
      hour,
      kind,
      by,
    );
    this.sql.exec(
      "INSERT INTO counters (kind, count) VALUES (?, ?) ON CONFLICT (kind) DO UPDATE SET count = count + excluded.count",
      kind,
      by,
    );
  }

  counters(): Record<string, number> {
    return Object.fromEntries(
      this.all<{ kind: string; count: number }>("SELECT kind, count FROM counters").map((r) => [r.kind, r.count]),
    );
  }

  /** Changes after `seq` that concern a gateway: what it has yet to acknowledge. */
  pendingFor(gateway: string, seq: number): number {
    return (
      this.first<{ n: number }>(
        "SELECT COUNT(*) AS n FROM registrations WHERE seq > ? AND (target = ? OR target = ?)",
        seq,
        ALL_GATEWAYS,
        gateway,
      )?.n ?? 0
    );
  }

  databaseSize(): number {
    return this.sql.databaseSize;
  }

  stats(sinceHour: number): Array<{ hour: number; kind: string; count: number }> {
    return this.all("SELECT hour, kind, count FROM hourly_stats WHERE hour >= ? ORDER BY hour", sinceHour);
  }

  pruneStats(beforeHour: number): void {
    this.sql.exec("DELETE FROM hourly_stats WHERE hour < ?", beforeHour);
  }

  counts(): { active: number; removed: number } {
    const row = this.first<{ active: number; removed: number }>(
      "SELECT SUM(removed_at IS NULL) AS active, SUM(removed_at IS NOT NULL) AS removed FROM registrations",
    );
    return { active: row?.active ?? 0, removed: row?.removed ?? 0 };
  }
}
