import type { EdgeStatus } from "./collect.ts";
import { PARKER_KINDS, REGISTRATION_KINDS, REJECTION_KINDS, REPAIR_KINDS } from "./status.ts";

type Labels = Record<string, string>;

const escapeLabel = (v: string): string => v.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
const labelText = (labels: Labels): string => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
};

/** Prometheus text exposition (version 0.0.4) of the edge's status. */
export function renderMetrics(status: EdgeStatus): string {
  const families = new Map<string, { help: string; type: "gauge" | "counter"; samples: string[] }>();
  const add = (name: string, type: "gauge" | "counter", help: string, labels: Labels, value: number | null) => {
    if (value === null || !Number.isFinite(value)) return;
    let family = families.get(name);
    if (!family) {
      family = { help, type, samples: [] };
      families.set(name, family);
    }
    family.samples.push(`${name}${labelText(labels)} ${value}`);
  };
  const seconds = (iso: string | null) => (iso === null ? null : Date.parse(iso) / 1000);

  for (const d of status.domains) {
    const domain = { domain: d.domain };
    add("wgkex_edge_desired_peers", "gauge", "Keys in the domain's desired peer set.", domain, d.desired_peers);
    add(
      "wgkex_edge_tombstones",
      "gauge",
      "Removed keys kept so resuming gateways learn of the removal.",
      domain,
      d.tombstones,
    );
    add(
      "wgkex_edge_adopted_peers",
      "gauge",
      "Keys in the desired set that the edge adopted from gateways (found on their interfaces), not registered by nodes.",
      domain,
      d.adopted_peers,
    );
    add("wgkex_edge_head_seq", "gauge", "Highest sequence number of the domain's change log.", domain, d.head);
    add("wgkex_edge_storage_bytes", "gauge", "SQLite size of the domain's object.", domain, d.storage_bytes);
    for (const kind of REGISTRATION_KINDS) {
      add(
        "wgkex_edge_registrations_total",
        "counter",
        "Accepted registrations by kind (new key, changed, repeated).",
        { ...domain, kind },
        d.totals[kind] ?? 0,
      );
    }
    for (const kind of REPAIR_KINDS) {
      add(
        "wgkex_edge_repairs_total",
        "counter",
        "Repeated registrations as repair signals: keys gateways were asked to verify (requested), repeats held back by the repair limits (limited), keys a gateway installed again (done) or could not (failed).",
        { ...domain, kind },
        d.totals[`repair_${kind}`] ?? 0,
      );
    }
    for (const version of ["v1", "v2"]) {
      add(
        "wgkex_edge_requests_total",
        "counter",
        "Accepted registrations by API version.",
        { ...domain, version },
        d.totals[version] ?? 0,
      );
    }
    for (const reason of Object.keys(REJECTION_KINDS)) {
      if (reason in d.totals)
        add(
          "wgkex_edge_rejections_total",
          "counter",
          "Rejected requests by reason.",
          { ...domain, reason },
          d.totals[reason] ?? 0,
        );
    }
    if (d.parker) {
      const p = d.parker;
      add("wgkex_edge_parker_pool_capacity", "gauge", "Allocations the Parker pool holds.", domain, p.capacity);
      add("wgkex_edge_parker_pool_used", "gauge", "Parker allocations in use.", domain, p.used);
      add(
        "wgkex_edge_parker_pool_unconfirmed",
        "gauge",
        "Parker allocations whose node never completed a handshake.",
        domain,
        p.unconfirmed,
      );
      add(
        "wgkex_edge_parker_pool_alarm",
        "gauge",
        "1 when the Parker pool is in use at or above pool_alarm_percent.",
        domain,
        p.alarm ? 1 : 0,
      );
      for (const kind of Object.keys(PARKER_KINDS)) {
        add(
          "wgkex_edge_parker_requests_total",
          "counter",
          "Parker configuration requests by outcome (new, repeated, moved, each 'later' reason), and expiries.",
          { ...domain, kind: kind.slice("parker_".length) },
          d.totals[kind] ?? 0,
        );
      }
    }
    for (const g of d.gateways) {
      const labels = { ...domain, gateway: g.name };
      add("wgkex_edge_gateway_online", "gauge", "1 when the gateway has a caught-up socket.", labels, g.online ? 1 : 0);
      add(
        "wgkex_edge_gateway_drain",
        "gauge",
        "1 when the gateway is draining (no new nodes).",
        labels,
        g.drain ? 1 : 0,
      );
      add("wgkex_edge_gateway_weight", "gauge", "Configured weight.", labels, g.weight);
      add(
        "wgkex_edge_gateway_connected_peers",
        "gauge",
        "Peers with a handshake in the last 3 minutes, as reported.",
        labels,
        g.connected,
      );
      add(
        "wgkex_edge_gateway_installed_peers",
        "gauge",
        "Peers installed on the gateway, as reported.",
        labels,
        g.installed,
      );
      add("wgkex_edge_gateway_lag", "gauge", "Changes the gateway has not acknowledged.", labels, g.lag);
      add(
        "wgkex_edge_gateway_adopted_peers",
        "gauge",
        "Keys in the desired set adopted from this gateway's report.",
        labels,
        g.adopted,
      );
      for (const [outcome, n] of Object.entries(g.adoption_reports)) {
        add(
          "wgkex_edge_adoption_reports_total",
          "counter",
          "Keys gateways reported as found on their interfaces, by outcome (accepted, known, limit, gateway_key, denied, disabled, invalid).",
          { ...labels, outcome },
          n,
        );
      }
      add(
        "wgkex_edge_gateway_acked_seq",
        "gauge",
        "Highest sequence number the gateway acknowledged.",
        labels,
        g.acked_seq,
      );
      add(
        "wgkex_edge_gateway_last_report_timestamp_seconds",
        "gauge",
        "When the gateway last reported its load.",
        labels,
        seconds(g.last_report),
      );
    }
  }
  for (const reason of Object.keys(REJECTION_KINDS)) {
    if (reason in status.edge.totals) {
      add(
        "wgkex_edge_rejections_total",
        "counter",
        "Rejected requests by reason.",
        { domain: "", reason },
        status.edge.totals[reason] ?? 0,
      );
    }
  }
  let out = "";
  for (const [name, family] of families) {
    out += `# HELP ${name} ${family.help}\n# TYPE ${name} ${family.type}\n${family.samples.join("\n")}\n`;
  }
  return out;
}
