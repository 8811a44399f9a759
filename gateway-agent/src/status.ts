import type { AgentConfig } from "./config/schema.ts";
import { readState } from "./state.ts";

/** Per-domain table from the state directory: peers, connected, last sync, lag. */
export function statusTable(config: AgentConfig, now: number = Date.now()): string {
  const rows: string[][] = [
    ["DOMAIN", "INTERFACE", "PEERS", "CONNECTED", "APPLIED", "HEAD", "LAG", "LAST SYNC", "EDGE"],
  ];
  for (const d of config.domains) {
    const s = readState(config.state_dir, d.name);
    if (!s) {
      rows.push([d.name, d.interfaces.wireguard, "-", "-", "-", "-", "-", "never", "-"]);
      continue;
    }
    const ago = s.last_sync ? `${Math.max(0, Math.round((now - s.last_sync) / 1000))}s ago` : "never";
    rows.push([
      d.name,
      d.interfaces.wireguard,
      String(s.peers),
      String(s.connected),
      String(s.applied_seq),
      String(s.head),
      String(Math.max(0, s.head - s.applied_seq)),
      ago,
      s.edge_connected ? "up" : "down",
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
