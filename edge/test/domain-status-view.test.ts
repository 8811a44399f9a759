import { describe, expect, it } from "vitest";
import { gatewayConfigSchema } from "../src/config/schema.ts";
import type { GatewayRow } from "../src/registry/gateways/gateways-table.ts";
import { buildDomainStatus, type DomainFacts } from "../src/registry/views/domain-status.ts";
import { renderStatusPage } from "../src/stats/page.ts";
import { renderMetrics } from "../src/stats/prometheus.ts";

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
  adopted: new Map(),
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

  it("counts adopted keys per gateway and in the domain, and each gateway's reports by outcome", () => {
    const s = buildDomainStatus(
      facts({
        adopted: new Map([
          ["gw01", 7],
          ["gw09", 2], // no longer served: still in the domain's count
        ]),
        totals: { new: 1, "adoption:accepted:gw01": 7, "adoption:limit:gw01": 3, "adoption:known:gw02": 5 },
      }),
    );
    expect(s.adopted_peers).toBe(9);
    expect(s.gateways.map((g) => [g.name, g.adopted, g.adoption_reports])).toEqual([
      ["gw01", 7, { accepted: 7, limit: 3 }],
      ["gw02", 0, { known: 5 }],
    ]);
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

  it("raises the Parker pool alarm on the status page and in /metrics, and only for the Parker domain", () => {
    const pool = { capacity: 255, used: 240, unconfirmed: 7, used_percent: 94.1, alarm: true };
    const parker = buildDomainStatus(
      facts({
        domain: "ffbs_parker",
        pool,
        hourly: [
          { hour: HOUR, kind: "parker_new", count: 4 },
          { hour: HOUR, kind: "parker_pool_full", count: 9 },
          { hour: HOUR - 30, kind: "parker_new", count: 100 },
        ],
        totals: { parker_new: 104, parker_pool_full: 9 },
      }),
    );
    expect(parker.parker).toEqual({ ...pool, requests_last_day: { parker_new: 4, parker_pool_full: 9 } });
    const status = {
      generated_at: new Date(HOUR * 3_600_000).toISOString(),
      domains: [parker, buildDomainStatus(facts())],
      edge: { rejections_last_day: {}, totals: {} },
    };
    const page = renderStatusPage(status);
    expect(page).toContain('id="parker-pool-alarm"');
    expect(page).toContain("240 of 255 in use (94.1 %)");
    expect(page).toContain("later: pool full: <b>9</b>");
    const metrics = renderMetrics(status);
    expect(metrics).toContain('wgkex_edge_parker_pool_alarm{domain="ffbs_parker"} 1');
    expect(metrics).toContain('wgkex_edge_parker_pool_used{domain="ffbs_parker"} 240');
    expect(metrics).toContain('wgkex_edge_parker_requests_total{domain="ffbs_parker",kind="pool_full"} 9');
    expect(metrics).not.toContain('wgkex_edge_parker_pool_alarm{domain="ffmuc_welt"}');

    const calm = renderStatusPage({
      ...status,
      domains: [buildDomainStatus(facts({ pool: { ...pool, alarm: false } }))],
    });
    expect(calm).not.toContain("parker-pool-alarm");
  });
});
