import type { EdgeStatus } from "./collect.ts";
import { type DomainStatus, PARKER_KINDS, REJECTION_KINDS } from "./status.ts";

const escapeHtml = (text: string): string =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

function ago(iso: string | null, now: number): string {
  if (iso === null) return "never";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

const num = (n: number | null): string => (n === null ? "–" : n.toLocaleString("en-US"));

function countList(counts: Record<string, number>, kinds: Record<string, string>): string {
  const items = Object.entries(kinds)
    .filter(([kind]) => (counts[kind] ?? 0) > 0)
    .map(([kind, label]) => `<li>${escapeHtml(label)}: <b>${num(counts[kind] ?? 0)}</b></li>`);
  return items.length ? `<ul class="rejections">${items.join("")}</ul>` : `<p class="muted">none</p>`;
}

/** The Parker domain's pool (with the exhaustion alarm) and its requests. */
function parkerSection(d: DomainStatus): string {
  const p = d.parker;
  if (p === undefined) return "";
  const alarm = p.alarm ? ` <span class="badge offline" id="parker-pool-alarm">pool alarm</span>` : "";
  return `<h3>Parker allocations</h3>
<p class="summary" id="parker-pool"><span>${num(p.used)} of ${num(p.capacity)} in use (${p.used_percent} %)</span> · <span>${num(p.unconfirmed)} without a handshake yet</span>${alarm}</p>
${countList(p.requests_last_day, PARKER_KINDS)}`;
}

/** The public status page: no JavaScript, refreshes itself every 30 s. */
export function renderStatusPage(status: EdgeStatus, refreshSeconds = 30): string {
  const now = Date.parse(status.generated_at);
  const domains = status.domains
    .map((d) => {
      const rows = d.gateways
        .map((g) => {
          const state = !g.online ? "offline" : g.drain ? "draining" : "online";
          return `<tr class="${state}">
<td>${escapeHtml(g.name)}</td><td><span class="badge ${state}">${state}</span></td>
<td class="n">${g.weight}</td><td>${escapeHtml(g.location ?? "–")}</td>
<td class="n">${num(g.connected)}</td><td class="n">${num(g.installed)}</td>
<td class="n">${num(g.lag)}</td><td class="n adopted">${num(g.adopted)}</td><td>${ago(g.last_report, now)}</td></tr>`;
        })
        .join("\n");
      return `<section class="domain" id="domain-${escapeHtml(d.domain)}">
<h2>${escapeHtml(d.domain)}</h2>
<p class="summary"><span>${num(d.desired_peers)} peers</span> · ${d.adopted_peers > 0 ? `<span class="adopted">${num(d.adopted_peers)} adopted from gateways</span> · ` : ""}<span>${num(d.registrations.last_hour)} registrations in the last hour</span> · <span>${num(d.registrations.last_day)} in the last day</span></p>
<table>
<thead><tr><th>gateway</th><th>state</th><th>weight</th><th>location</th><th>connected</th><th>installed</th><th>resume lag</th><th title="keys adopted from this gateway's interface (migration)">adopted</th><th>last report</th></tr></thead>
<tbody>
${rows || `<tr><td colspan="9" class="muted">no gateways configured</td></tr>`}
</tbody>
</table>
<h3>Rejected in the last day</h3>
${countList(d.rejections_last_day, REJECTION_KINDS)}
${parkerSection(d)}
</section>`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${refreshSeconds}">
<title>wgkex-edge status</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:60rem;padding:0 1rem;color:#1d2330}
h1{font-size:1.5rem;margin:0 0 .2rem}h2{font-size:1.15rem;margin:1.6rem 0 .3rem}h3{font-size:.95rem;margin:.8rem 0 .2rem}
table{border-collapse:collapse;width:100%}th,td{padding:.3rem .5rem;border-bottom:1px solid #dde1e8;text-align:left}
th{font-weight:600;background:#f3f5f8}.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{padding:.05rem .45rem;border-radius:.6rem;font-size:.8rem}.badge.online{background:#d8f3dc}.badge.offline{background:#fde2e1}.badge.draining{background:#fff1c2}
.muted,.meta{color:#687385}.summary span{white-space:nowrap}ul.rejections{margin:.2rem 0;padding-left:1.2rem}
</style>
</head>
<body>
<h1>wgkex-edge</h1>
<p class="meta">Status at ${escapeHtml(status.generated_at)} · refreshes every ${refreshSeconds} s · <a href="/api/v1/status">JSON</a></p>
${domains}
<section id="edge-rejections">
<h2>Rejected before reaching a domain (last day)</h2>
${countList(status.edge.rejections_last_day, REJECTION_KINDS)}
</section>
</body>
</html>
`;
}
