import { wg } from "./commands/builders.ts";
import type { CommandRunner } from "./commands/runner.ts";
import type { AgentConfig } from "./config/schema.ts";
import { recentPeers } from "./dataplane/cleanup.ts";
import { parseWgDump } from "./dataplane/observe.ts";
import { readState } from "./state.ts";

/** Peer counts of one domain as the kernel reports them right now (`wg show <if> dump`). */
export interface KernelCounts {
  peers: number;
  connected: number;
}

/**
 * Ask the kernel for each domain's counts, so `status` shows what `wg show` shows. A domain
 * whose interface cannot be read (no permission, no interface) is left out: the table then
 * shows the agent's last recorded counts and says how old they are.
 */
export async function kernelCounts(
  config: AgentConfig,
  runner: CommandRunner,
  now: number = Date.now(),
): Promise<Map<string, KernelCounts>> {
  const counts = new Map<string, KernelCounts>();
  for (const d of config.domains) {
    const r = await runner.run(wg.show(d.interfaces.wireguard), { readOnly: true }).catch(() => undefined);
    if (r?.code !== 0) continue;
    const dump = parseWgDump(r.stdout);
    const staticKeys = new Set(d.static_peers.map((p) => p.public_key));
    const connected = recentPeers(dump.peers, now, config.reports.connected_window_s, staticKeys).length;
    counts.set(d.name, { peers: dump.peers.length, connected });
  }
  return counts;
}

const ago = (now: number, at: number): string => `${Math.max(0, Math.round((now - at) / 1000))}s ago`;

/**
 * Per-domain table: peers (all WireGuard peers, static ones included, as `wg show` lists them),
 * connected, where the counts come from (`kernel` = read just now, else their age), applied
 * seq, head, lag, last sync, edge up/down.
 */
export function statusTable(
  config: AgentConfig,
  now: number = Date.now(),
  live: ReadonlyMap<string, KernelCounts> = new Map(),
): string {
  const rows: string[][] = [
    ["DOMAIN", "INTERFACE", "PEERS", "CONNECTED", "COUNTED", "APPLIED", "HEAD", "LAG", "LAST SYNC", "EDGE"],
  ];
  for (const d of config.domains) {
    const s = readState(config.state_dir, d.name);
    const k = live.get(d.name);
    const counts: [string, string, string] = k
      ? [String(k.peers), String(k.connected), "kernel"]
      : s
        ? [String(s.peers), String(s.connected), s.counts_at ? ago(now, s.counts_at) : "never"]
        : ["-", "-", "-"];
    if (!s) {
      rows.push([d.name, d.interfaces.wireguard, ...counts, "-", "-", "-", "never", "-"]);
      continue;
    }
    rows.push([
      d.name,
      d.interfaces.wireguard,
      ...counts,
      String(s.applied_seq),
      String(s.head),
      String(Math.max(0, s.head - s.applied_seq)),
      s.last_sync ? ago(now, s.last_sync) : "never",
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
