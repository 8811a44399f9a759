import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

// The shipped Grafana dashboard must only query metrics the code exports: renaming a metric
// in the edge or the agent breaks this test until the dashboard follows.
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's datasource input placeholder, literally
const DS_UID = "${DS_PROMETHEUS}";
const REPO = resolve(import.meta.dirname, "../..");
const read = (p: string) => readFileSync(resolve(REPO, p), "utf8");
const dashboard = JSON.parse(read("ops/grafana/wgkex-edge.json")) as {
  __inputs: Array<{ name: string; type: string; pluginId: string }>;
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; datasource: unknown; query: { query: string } }> };
};
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Array<{ expr: string; datasource?: { uid: string } }>;
  panels?: Panel[];
}
const allPanels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const expressions = [
  ...allPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr }))),
  ...dashboard.templating.list.map((v) => ({ where: `variable ${v.name}`, expr: v.query.query })),
];
const sources = {
  edge: read("edge/src/stats/prometheus.ts"),
  agent: read("gateway-agent/src/metrics.ts"),
};

/** Metric names in a PromQL expression, histogram series suffixes removed. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\bwgkex_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ""));
}

describe("Grafana dashboard ops/grafana/wgkex-edge.json", () => {
  it("every metric in every PromQL expression exists in the edge's or the agent's code", () => {
    expect(expressions.length).toBeGreaterThan(20);
    const missing: string[] = [];
    for (const { where, expr } of expressions) {
      const names = metricNames(expr);
      expect(names.length, `${where}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) {
        const quoted = `"${name}"`;
        if (!sources.edge.includes(quoted) && !sources.agent.includes(quoted)) missing.push(`${where}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("covers the edge and agent figures operators watch", () => {
    const all = expressions.map((e) => e.expr).join("\n");
    for (const name of [
      "wgkex_edge_registrations_total",
      "wgkex_edge_rejections_total",
      "wgkex_edge_gateway_online",
      "wgkex_edge_gateway_connected_peers",
      "wgkex_edge_gateway_installed_peers",
      "wgkex_edge_gateway_lag",
      "wgkex_agent_apply_latency_seconds_bucket",
      "wgkex_agent_batch_size",
      "wgkex_agent_command_failures_total",
      "wgkex_agent_edge_connected",
      "wgkex_agent_replay_lag",
      // Migration: what gateways added by adoption, and what became of their reports.
      "wgkex_edge_adopted_peers",
      "wgkex_edge_gateway_adopted_peers",
      "wgkex_edge_adoption_reports_total",
      "wgkex_agent_adopted_peers",
      // Self-healing: repeats turned into verify requests, and what gateways found.
      "wgkex_edge_repairs_total",
      "wgkex_agent_verified_keys_total",
    ]) {
      expect(all).toContain(name);
    }
    expect(all).toContain(
      "histogram_quantile(0.5, sum by (le, instance) (rate(wgkex_agent_apply_latency_seconds_bucket",
    );
    expect(all).toContain(
      "histogram_quantile(0.99, sum by (le, instance) (rate(wgkex_agent_apply_latency_seconds_bucket",
    );
  });

  it("is importable: a DS_PROMETHEUS input used by every panel, unique ids, a layout", () => {
    expect(dashboard.__inputs).toEqual([
      expect.objectContaining({ name: "DS_PROMETHEUS", type: "datasource", pluginId: "prometheus" }),
    ]);
    expect(dashboard.uid).toBe("wgkex-edge");
    const ids = allPanels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of allPanels) {
      expect(p.gridPos.w, p.title).toBeGreaterThan(0);
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      if (p.type === "row") continue;
      expect(p.datasource?.uid, p.title).toBe(DS_UID);
      for (const t of p.targets ?? []) expect(t.datasource?.uid, p.title).toBe(DS_UID);
    }
    for (const v of dashboard.templating.list) expect(v.datasource).toEqual({ type: "prometheus", uid: DS_UID });
  });

  it("ops/prometheus/scrape.example.yml scrapes the edge with the admin token and the agents", () => {
    const config = parse(read("ops/prometheus/scrape.example.yml")) as {
      scrape_configs: Array<{
        job_name: string;
        metrics_path?: string;
        authorization?: { type: string; credentials_file: string };
        static_configs: Array<{ targets: string[]; labels?: Record<string, string> }>;
      }>;
    };
    const [edge, agent] = config.scrape_configs;
    expect(edge!.job_name).toBe("wgkex-edge");
    expect(edge!.metrics_path).toBe("/metrics");
    expect(edge!.authorization?.type).toBe("Bearer");
    expect(agent!.job_name).toBe("wgkex-agent");
    expect(agent!.static_configs.every((s) => s.targets[0]?.endsWith(":9761") && s.labels?.instance)).toBe(true);
  });
});
