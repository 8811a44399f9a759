import { PARKER_MIGRATION_SQL } from "../parker/parker-store.ts";
import type { Migration } from "../storage/migrate.ts";

/**
 * Schema of a domain's object, as ordered migrations recorded in `migrations`. Append new
 * ones; never edit an applied one (objects in production have run it).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "registrations, gateways, receipts, deny list",
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
      -- The desired peer set as a compacted log: one row per key, carrying the seq of its
      -- latest change. target '*' = every gateway (v1), else the gateway v2 chose.
      CREATE TABLE registrations (
        public_key TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        target TEXT NOT NULL,
        first_registered_at INTEGER NOT NULL,
        registered_at INTEGER NOT NULL,
        live_at INTEGER,
        removed_at INTEGER,
        removed_reason TEXT
      ) WITHOUT ROWID;
      CREATE INDEX registrations_removed ON registrations (removed_at) WHERE removed_at IS NOT NULL;
      CREATE TABLE gateways (
        name TEXT PRIMARY KEY,
        acked_seq INTEGER NOT NULL DEFAULT 0,
        acked_at INTEGER,
        public_key TEXT, port INTEGER, address TEXT, link_address TEXT, interface_at INTEGER,
        connected INTEGER, load INTEGER, peers INTEGER, reported_at INTEGER,
        connected_at INTEGER, disconnected_at INTEGER,
        drain INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      -- When each cumulative ack arrived: a key with seq s was installed on g at the first
      -- ack of g with seq >= s.
      CREATE TABLE acks (gateway TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (gateway, seq)) WITHOUT ROWID;
      -- Per key and gateway, the latest failure or removal the agent reported, for the
      -- key's change with that seq.
      CREATE TABLE gateway_events (
        public_key TEXT NOT NULL, gateway TEXT NOT NULL,
        kind TEXT NOT NULL, reason TEXT, at INTEGER NOT NULL, seq INTEGER NOT NULL,
        PRIMARY KEY (public_key, gateway)
      ) WITHOUT ROWID;
      CREATE TABLE denylist (public_key TEXT PRIMARY KEY, reason TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER) WITHOUT ROWID;
      CREATE TABLE bans (public_key TEXT PRIMARY KEY, until INTEGER NOT NULL) WITHOUT ROWID;
      -- Registrations and rejections per hour, for the status page.
      CREATE TABLE hourly_stats (hour INTEGER NOT NULL, kind TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (hour, kind)) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: "cumulative counters for /metrics",
    sql: `
      -- Monotonic totals per kind (Prometheus counters); hourly_stats is pruned, these never are.
      CREATE TABLE counters (kind TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    name: "Parker: node ranges in the log, concentrator IPv4, allocations",
    sql: `
      -- A Parker node's ranges (comma-separated) travel with its change; null elsewhere.
      ALTER TABLE registrations ADD COLUMN allowed_ips TEXT;
      -- A concentrator's IPv4 on its Parker interface, as its agent reports it.
      ALTER TABLE gateways ADD COLUMN address4 TEXT;
      ${PARKER_MIGRATION_SQL}
    `,
  },
  {
    version: 4,
    name: "per-key bans in memory per key and source; dates a gateway or an admin could overflow",
    sql: `
      -- A ban stored per key let anybody lock a router out by replaying its public key
      -- (issue 12); bans now live in memory per key and source, never with an address on disk.
      DROP TABLE bans;
      -- Written before their ranges were checked: later than 9999-12-31 cannot be shown as a date.
      UPDATE denylist SET expires_at = NULL WHERE expires_at > 253402300800000;
      DELETE FROM gateway_events WHERE at > 253402300800000;
    `,
  },
  {
    version: 5,
    name: "adopted registrations and the adoption budget",
    sql: `
      -- A key a gateway reported finding on its interface (a wgkex gateway taken over): which
      -- gateway, and when. NULL for keys nodes registered themselves.
      ALTER TABLE registrations ADD COLUMN adopted_by TEXT;
      ALTER TABLE registrations ADD COLUMN adopted_at INTEGER;
      CREATE INDEX registrations_adopted ON registrations (adopted_by) WHERE adopted_by IS NOT NULL;
      -- New keys added by adoption in the current window, per gateway and ('*') per domain.
      CREATE TABLE adoption_budget (scope TEXT PRIMARY KEY, window_start INTEGER NOT NULL, used INTEGER NOT NULL) WITHOUT ROWID;
    `,
  },
];
