import { describe, expect, it } from "vitest";
import type { EdgeStatus } from "../src/stats/collect.ts";
import { ADMIN_TOKEN, fetchEdge, freshKey, onlineGateway, post, register } from "./helpers.ts";

describe("status and metrics", () => {
  it("shows per-domain gateways, registrations and rejections as JSON, with no keys or addresses", async () => {
    const gw = await onlineGateway("gw01", "ffmuc_welt", { connected: 7, load: 9 });
    gw.send({ type: "load", connected: 7, load: 9, peers: 12 });
    const keys = [freshKey(), freshKey()];
    for (const k of keys) await register(1, "ffmuc_welt", k);
    await post(1, "garbage");
    await post(1, `{"domain": "ffmuc_welt","public_key": "${"x".repeat(44)}"}`);
    await post(1, JSON.stringify({ domain: "ffmuc_welt", public_key: keys[0], pad: "x".repeat(5000) }));

    const res = await fetchEdge("/api/v1/status");
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const k of keys) expect(text).not.toContain(k);
    expect(text).not.toMatch(/198\.51\./);
    const status = JSON.parse(text) as EdgeStatus;
    const welt = status.domains.find((d) => d.domain === "ffmuc_welt")!;
    expect(welt.desired_peers).toBeGreaterThanOrEqual(2);
    expect(welt.registrations.last_hour).toBeGreaterThanOrEqual(2);
    const gw01 = welt.gateways.find((g) => g.name === "gw01")!;
    expect(gw01).toMatchObject({ online: true, connected: 7, load: 9, installed: 12, drain: false, location: "muc" });
    expect(gw01.lag).toBeGreaterThanOrEqual(2);
    expect(welt.gateways.find((g) => g.name === "gw02")).toMatchObject({ online: false });
    expect(status.edge.rejections_last_day).toMatchObject({ invalid: 2, too_large: 1 });
    gw.close();
  });

  it("renders a self-refreshing HTML page without scripts", async () => {
    const res = await fetchEdge("/status");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('<meta http-equiv="refresh" content="30">');
    expect(html).not.toContain("<script");
    expect(html).toContain('id="domain-ffmuc_welt"');
    expect(html).toContain("gw03");
  });

  it("serves Prometheus metrics only with the admin token", async () => {
    expect((await fetchEdge("/metrics")).status).toBe(401);
    expect((await fetchEdge("/metrics", { headers: { Authorization: "Bearer nope" } })).status).toBe(401);
    await register(1, "ffmuc_muc_cty", freshKey());
    const res = await fetchEdge("/metrics", { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain("# TYPE wgkex_edge_registrations_total counter");
    expect(text).toMatch(/^wgkex_edge_registrations_total\{domain="ffmuc_muc_cty",kind="new"\} [1-9]\d*$/m);
    expect(text).toMatch(/^wgkex_edge_gateway_online\{domain="ffmuc_welt",gateway="gw01"\} [01]$/m);
    expect(text).toMatch(/^wgkex_edge_desired_peers\{domain="ffmuc_gluon"\} \d+$/m);
    // Every sample line is name{labels} value.
    for (const line of text.split("\n").filter((l) => l && !l.startsWith("#"))) {
      expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? -?\d+(\.\d+)?(e[+-]?\d+)?$/);
    }
  });
});
