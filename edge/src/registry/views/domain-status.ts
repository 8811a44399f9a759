import type { GatewayConfig } from "../../config/schema.ts";
import type { PoolStatus } from "../../parker/parker-service.ts";
import { type DomainStatus, PARKER_KINDS, REGISTRATION_KINDS, REJECTION_KINDS } from "../../stats/status.ts";
import { parseAdoptionKind } from "../adoption/adopter.ts";
import type { GatewayRow } from "../gateways/gateways-table.ts";
import { iso } from "./iso.ts";

export interface DomainFacts {
  domain: string;
  head: number;
  counts: { active: number; removed: number };
  storageBytes: number;
  served: readonly GatewayConfig[];
  rows: ReadonlyMap<string, GatewayRow>;
  online: ReadonlySet<string>;
  /** Per gateway, the changes concerning it after its acked seq. */
  lag: ReadonlyMap<string, number>;
  /** Active keys per gateway that adopted them. */
  adopted: ReadonlyMap<string, number>;
  /** The last 24 hours of counts, the current hour included. */
  hourly: ReadonlyArray<{ hour: number; kind: string; count: number }>;
  totals: Record<string, number>;
  /** The current hour (ms / 3,600,000). */
  hour: number;
  /** The Parker domain's pool. */
  pool?: PoolStatus | undefined;
}

/** Health and counts of a domain for the status page and /metrics. */
export function buildDomainStatus(facts: DomainFacts): DomainStatus {
  const { hourly, hour, online } = facts;
  const sum = (kinds: readonly string[], fromHour: number) =>
    hourly.filter((r) => r.hour >= fromHour && kinds.includes(r.kind)).reduce((n, r) => n + r.count, 0);
  const reports = new Map<string, Record<string, number>>();
  for (const [kind, n] of Object.entries(facts.totals)) {
    const parsed = parseAdoptionKind(kind);
    if (parsed === undefined) continue;
    const of = reports.get(parsed.gateway) ?? {};
    of[parsed.outcome] = n;
    reports.set(parsed.gateway, of);
  }
  const rejections: Record<string, number> = {};
  for (const r of hourly) if (r.kind in REJECTION_KINDS) rejections[r.kind] = (rejections[r.kind] ?? 0) + r.count;
  return {
    domain: facts.domain,
    head: facts.head,
    desired_peers: facts.counts.active,
    adopted_peers: [...facts.adopted.values()].reduce((n, c) => n + c, 0),
    tombstones: facts.counts.removed,
    storage_bytes: facts.storageBytes,
    gateways: facts.served.map((g) => {
      const row = facts.rows.get(g.name);
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
        lag: facts.lag.get(g.name) ?? 0,
        last_report: iso(row?.reported_at),
        last_ack: iso(row?.acked_at),
        connected_since: online.has(g.name) ? iso(row?.connected_at) : null,
        endpoint:
          row?.address && row.port && row.public_key
            ? { address: row.address, port: row.port, public_key: row.public_key }
            : null,
        adopted: facts.adopted.get(g.name) ?? 0,
        adoption_reports: reports.get(g.name) ?? {},
      };
    }),
    registrations: { last_hour: sum(REGISTRATION_KINDS, hour), last_day: sum(REGISTRATION_KINDS, hour - 23) },
    rejections_last_day: rejections,
    totals: facts.totals,
    ...(facts.pool ? { parker: { ...facts.pool, requests_last_day: perKind(hourly, PARKER_KINDS, hour - 23) } } : {}),
  };
}

function perKind(
  hourly: DomainFacts["hourly"],
  kinds: Record<string, string>,
  fromHour: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of hourly) if (r.hour >= fromHour && r.kind in kinds) out[r.kind] = (out[r.kind] ?? 0) + r.count;
  return out;
}
