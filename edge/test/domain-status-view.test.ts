import { describe, expect, it } from "vitest";
import { gatewayConfigSchema } from "../src/config/schema.ts";
import type { GatewayRow } from "../src/registry/gateways/gateways-table.ts";
import { buildDomainStatus, type DomainFacts } from "../src/registry/views/domain-status.ts";

const HOUR = 1000;
const gwRow = (name: string, fields: Partial<GatewayRow> = {}): GatewayRow => ({
  name,
  acked_seq: 0,
  acked_at: null,
  public_key: null,
  port: null,
  address: null,
  link_address: null,
  interface_at: null,
  connected: null,
  load: null,
  peers: null,
  reported_at: null,
  connected_at: null,
  disconnected_at: null,
  drain: 0,
  address4: null,
  ...fields,
});

const facts = (over: Partial<DomainFacts> = {}): DomainFacts => ({
  domain: "ffmuc_welt",
  head: 12,
  counts: { active: 10, removed: 2 },
  storageBytes: 4096,
  served: [gatewayConfigSchema.parse({ name: "gw01", location: "muc" }), gatewayConfigSchema.parse({ name: "gw02" })],
  rows: new Map([
    ["gw01", gwRow("gw01", { acked_seq: 9, connected: 4, load: 6, peers: 10, drain: 1, connected_at: 5 })],
  ]),
  online: new Set(["gw01"]),
  lag: new Map([["gw01", 3]]),
  hourly: [],
  totals: { new: 10 },
  hour: HOUR,
  ...over,
});

describe("buildDomainStatus (pure)", () => {
  it("shows each served gateway with its last report, drain override and lag", () => {
    const s = buildDomainStatus(facts());
    expect(s).toMatchObject({ domain: "ffmuc_welt", head: 12, desired_peers: 10, tombstones: 2, storage_bytes: 4096 });
    expect(s.gateways[0]).toMatchObject({
      name: "gw01",
      location: "muc",
      drain: true,
      online: true,
      connected: 4,
      load: 6,
      installed: 10,
      acked_seq: 9,
      lag: 3,
      connected_since: new Date(5).toISOString(),
      endpoint: null,
    });
    expect(s.gateways[1]).toMatchObject({ name: "gw02", online: false, connected: null, acked_seq: 0, lag: 0 });
    expect(s.totals).toEqual({ new: 10 });
  });

  it("sums registrations over the last hour and day, rejections over the day", () => {
    const s = buildDomainStatus(
      facts({
        hourly: [
          { hour: HOUR - 23, kind: "new", count: 5 },
          { hour: HOUR - 1, kind: "repeated", count: 7 },
          { hour: HOUR, kind: "new", count: 2 },
          { hour: HOUR, kind: "changed", count: 1 },
          { hour: HOUR, kind: "v1", count: 3 },
          { hour: HOUR - 2, kind: "throttled", count: 4 },
          { hour: HOUR, kind: "throttled", count: 1 },
        ],
      }),
    );
    expect(s.registrations).toEqual({ last_hour: 3, last_day: 15 });
    expect(s.rejections_last_day).toEqual({ throttled: 5 });
  });
});
