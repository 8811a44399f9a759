import { firstRow, rows } from "../../storage/sql.ts";

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
  /** Parker: the concentrator's IPv4 on its interface, as reported. */
  address4: string | null;
}

export type GatewayFields = Partial<Omit<GatewayRow, "name">>;

/**
 * The SQL of `gateways` (what each gateway reported, its highest ack, the drain override)
 * and `acks` (when each cumulative ack arrived). Only GatewayBook holds one.
 */
export class GatewaysTable {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
  }

  all(): GatewayRow[] {
    return rows(this.sql, "SELECT * FROM gateways");
  }

  row(name: string): GatewayRow | undefined {
    return firstRow(this.sql, "SELECT * FROM gateways WHERE name = ?", name);
  }

  update(name: string, fields: GatewayFields): void {
    const entries = Object.entries(fields);
    if (entries.length === 0) return;
    this.sql.exec("INSERT INTO gateways (name) VALUES (?) ON CONFLICT (name) DO NOTHING", name);
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
    return firstRow<{ at: number }>(
      this.sql,
      "SELECT at FROM acks WHERE gateway = ? AND seq >= ? ORDER BY seq LIMIT 1",
      gateway,
      seq,
    )?.at;
  }

  pruneAcks(before: number): void {
    // Keep each gateway's newest ack so receipts of old keys still resolve.
    this.sql.exec(
      "DELETE FROM acks WHERE at < ? AND seq < (SELECT MAX(seq) FROM acks AS newest WHERE newest.gateway = acks.gateway)",
      before,
    );
  }
}
