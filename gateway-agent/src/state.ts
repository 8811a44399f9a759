import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** What the agent remembers per domain across restarts (`<state_dir>/<domain>.json`). */
export interface DomainState {
  /** Highest edge `seq` whose changes are installed. */
  applied_seq: number;
  /** Edge head as last seen (for the replay-lag figure). */
  head: number;
  /** When a batch was last installed (ms since the epoch), 0 = never. */
  last_sync: number;
  /** First time a peer without handshake was seen (ms), for the grace period. */
  first_seen: Record<string, number>;
  /** Last counts, for `wgkex-agent status` when it cannot ask the kernel itself. */
  peers: number;
  connected: number;
  /** When those counts were read from the kernel (ms), 0 = never. */
  counts_at: number;
  edge_connected: boolean;
  updated: number;
  /**
   * The MAC of vx-<suffix> as provisioned: a recreated interface (reboot) gets it again, so
   * routers' neighbour caches and batman-adv stay right. The derived one for interfaces the
   * agent made; the interface's own for one it found in order (a migrated wgkex gateway).
   */
  vxlan_mac?: string;
}

export const emptyState = (): DomainState => ({
  applied_seq: 0,
  head: 0,
  last_sync: 0,
  first_seen: {},
  peers: 0,
  connected: 0,
  counts_at: 0,
  edge_connected: false,
  updated: 0,
});

export const stateFile = (dir: string, domain: string): string => join(dir, `${domain}.json`);
/**
 * first_seen can hold an entry per peer (100,000 and more): it lives in its own file,
 * written every few seconds and on stop, so a batch writes only the small record above.
 */
export const firstSeenFile = (dir: string, domain: string): string => join(dir, `${domain}.first-seen.json`);

/** Undefined when there is no (readable) state: the agent then asks for a snapshot. */
export function readState(dir: string, domain: string): DomainState | undefined {
  try {
    const data = JSON.parse(readFileSync(stateFile(dir, domain), "utf8")) as Partial<DomainState>;
    if (typeof data.applied_seq !== "number") return undefined;
    return { ...emptyState(), ...data, first_seen: data.first_seen ?? readFirstSeen(dir, domain) };
  } catch {
    return undefined;
  }
}

function readFirstSeen(dir: string, domain: string): Record<string, number> {
  try {
    const data = JSON.parse(readFileSync(firstSeenFile(dir, domain), "utf8")) as unknown;
    return data !== null && typeof data === "object" ? (data as Record<string, number>) : {};
  } catch {
    return {};
  }
}

/** Atomic: write a temporary file, then rename it over the old one. */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

/** The small per-batch record (everything but first_seen). */
export function writeState(dir: string, domain: string, state: DomainState): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { first_seen: _omitted, ...small } = state;
  writeAtomic(stateFile(dir, domain), `${JSON.stringify(small)}\n`);
}

export function writeFirstSeen(dir: string, domain: string, firstSeen: Record<string, number>): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeAtomic(firstSeenFile(dir, domain), `${JSON.stringify(firstSeen)}\n`);
}
