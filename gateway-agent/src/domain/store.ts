import type { Clock } from "../clock.ts";
import { type DomainState, emptyState, readState, writeFirstSeen, writeState } from "../state.ts";
import { DesiredPeers } from "./desired-peers.ts";

/** The state as others see it: read-only, first_seen included. */
export type DomainStateView = Readonly<Omit<DomainState, "first_seen">> & {
  readonly first_seen: Readonly<Record<string, number>>;
};

/** first_seen (one entry per peer) is written at most this often, and on stop. */
const FIRST_SEEN_SAVE_MS = 30_000;

/**
 * One domain's remembered state: what is applied (the cursor the hello sends), the desired
 * peers, the edge's head, first-seen times for the grace period, the last counts. The only
 * writer of `<state_dir>/<domain>.json` and of the desired set's files; everyone else reads
 * the state through `state`.
 */
export class DomainStore {
  readonly #dir: string;
  readonly #domain: string;
  readonly #clock: Clock;
  readonly #dryRun: boolean;
  readonly #state: DomainState;
  readonly #desired: DesiredPeers;
  #needSnapshot: boolean;
  #firstSeenSavedAt = 0;

  constructor(options: { dir: string; domain: string; clock: Clock; dryRun?: boolean }) {
    this.#dir = options.dir;
    this.#domain = options.domain;
    this.#clock = options.clock;
    this.#dryRun = options.dryRun ?? false;
    const saved = readState(options.dir, options.domain);
    // Counts are this run's: they start at 0 until the host is read.
    this.#state = { ...(saved ?? emptyState()), peers: 0, connected: 0, counts_at: 0 };
    this.#desired = new DesiredPeers(options);
    // Without a state file, or without a desired set (an older agent's state directory),
    // nothing is known about the peers: ask for the full set.
    this.#needSnapshot = saved === undefined || !this.#desired.known;
  }

  /** What this gateway should have (changed by the applier and the cleanup, written with the state). */
  get desired(): DesiredPeers {
    return this.#desired;
  }

  get state(): DomainStateView {
    return this.#state;
  }

  get lag(): number {
    return Math.max(0, this.#state.head - this.#state.applied_seq);
  }

  /** What hello says: the last applied seq, and whether the agent needs the full set. */
  cursor(): { since: number; snapshot: boolean } {
    return { since: this.#state.applied_seq, snapshot: this.#needSnapshot };
  }

  /** The interfaces were created anew: whatever the state file says, they are empty. */
  requireSnapshot(): void {
    this.#needSnapshot = true;
  }

  /** The edge's head as last seen; false when `seq` is not newer. */
  sawHead(seq: number, force = false): boolean {
    if (!force && seq <= this.#state.head) return false;
    this.#state.head = seq;
    return true;
  }

  /** The VXLAN MAC provisioning settled on: kept for the next time the interface is made. */
  rememberVxlanMac(mac: string): void {
    if (this.#state.vxlan_mac === mac) return;
    this.#state.vxlan_mac = mac;
    this.save();
  }

  edgeConnected(open: boolean): void {
    this.#state.edge_connected = open;
  }

  counts(counts: { peers?: number; connected?: number }): void {
    if (counts.peers !== undefined) {
      this.#state.peers = counts.peers;
      this.#state.counts_at = this.#clock.now();
    }
    if (counts.connected !== undefined) this.#state.connected = counts.connected;
  }

  firstSeen(key: string): number | undefined {
    return this.#state.first_seen[key];
  }

  /** Keys installed now (grace starts) or gone (forgotten). */
  installed(keys: Iterable<string>, at: number): void {
    for (const key of keys) this.#state.first_seen[key] = at;
  }

  forget(keys: Iterable<string>): void {
    for (const key of keys) delete this.#state.first_seen[key];
  }

  /**
   * Everything up to `seq` is installed: record it durably. Only then may the edge hear it
   * (the ack is sent by the caller after this returns).
   */
  applied(seq: number, options: { snapshot?: boolean } = {}): void {
    this.#state.applied_seq = seq;
    this.#state.last_sync = this.#clock.now();
    this.save();
    if (options.snapshot) this.#needSnapshot = false;
  }

  /** Write the small record; first_seen only every 30 s (it can be large), and when `final`. */
  save(final = false): void {
    if (this.#dryRun) return;
    // The desired set first: a state record never acknowledges a change the set lacks.
    this.#desired.flush();
    const now = this.#clock.now();
    this.#state.updated = now;
    writeState(this.#dir, this.#domain, this.#state);
    if (final || now - this.#firstSeenSavedAt >= FIRST_SEEN_SAVE_MS) {
      this.#firstSeenSavedAt = now;
      writeFirstSeen(this.#dir, this.#domain, this.#state.first_seen);
    }
  }
}
