import { appendFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { isPublicKey } from "@wgkex-edge/shared";
import { writeAtomic } from "../state.ts";

/**
 * Where a desired key comes from:
 * - `edge`: the edge gave it (the applied log or the last snapshot);
 * - `adopted`: found installed without the edge knowing it, kept and reported to the edge
 *   until the edge sends it back as an ordinary key (issue #11; the adoption rules fill it).
 * Static peers are configuration, not part of this set.
 */
export type DesiredOrigin = "edge" | "adopted";

const ORIGINS: readonly DesiredOrigin[] = ["edge", "adopted"];

export const desiredFile = (dir: string, domain: string): string => join(dir, `${domain}.desired.json`);
export const desiredJournalFile = (dir: string, domain: string): string => join(dir, `${domain}.desired.journal`);

/** The journal is folded into the compact file once it has this many lines, or more lines than the set has keys. */
const COMPACT_MIN_LINES = 10_000;

/**
 * The node peers this gateway should have for one domain: what reconcile installs when it
 * is missing, and the only peers a snapshot may remove again. A peer outside it (nobody
 * asked for it: installed by hand, by wgkex's worker, by an older agent) is foreign: never
 * removed by a snapshot or a reconcile, only by the stale cleanup.
 *
 * Durable as a compact file plus an append-only journal (`+edge K`, `-edge K`, …): a batch
 * appends its changes before its `applied_seq` is written, so what was acked is always in
 * the set after a crash. Appending a line replayed twice is harmless.
 */
export class DesiredPeers {
  readonly #sets: Record<DesiredOrigin, Set<string>> = { edge: new Set(), adopted: new Set() };
  readonly #dir: string;
  readonly #domain: string;
  readonly #dryRun: boolean;
  #known: boolean;
  #pending: string[] = [];
  #journalLines = 0;
  #rewrite = false;

  constructor(options: { dir: string; domain: string; dryRun?: boolean }) {
    this.#dir = options.dir;
    this.#domain = options.domain;
    this.#dryRun = options.dryRun ?? false;
    this.#known = this.#load();
  }

  /**
   * False until a snapshot gave the edge's whole set (first start, or a state directory of
   * an agent that kept no desired set): the agent then asks the edge for one. Until then
   * nothing is removed for not being listed.
   */
  get known(): boolean {
    return this.#known;
  }

  get edge(): ReadonlySet<string> {
    return this.#sets.edge;
  }

  get adopted(): ReadonlySet<string> {
    return this.#sets.adopted;
  }

  get size(): number {
    return this.#sets.edge.size + this.#sets.adopted.size;
  }

  has(key: string): boolean {
    return this.#sets.edge.has(key) || this.#sets.adopted.has(key);
  }

  /** Every desired key, whatever its origin. */
  all(): Set<string> {
    return new Set([...this.#sets.edge, ...this.#sets.adopted]);
  }

  /** The edge gave these keys: desired from now on, and no longer merely adopted. */
  addFromEdge(keys: Iterable<string>): void {
    for (const key of keys) {
      this.#set("edge", key, true);
      this.#set("adopted", key, false);
    }
  }

  /** Keys kept although the edge does not know them (yet). */
  adopt(keys: Iterable<string>): void {
    for (const key of keys) if (!this.#sets.edge.has(key)) this.#set("adopted", key, true);
  }

  /** Removed by the edge or by the stale cleanup: not desired any more, whatever the origin. */
  remove(keys: Iterable<string>): void {
    for (const key of keys) for (const origin of ORIGINS) this.#set(origin, key, false);
  }

  /** A snapshot is the edge's whole set: it replaces the edge's part. Returns the edge keys before. */
  replaceEdge(keys: Iterable<string>): Set<string> {
    const before = new Set(this.#sets.edge);
    this.#sets.edge = new Set(keys);
    for (const key of this.#sets.edge) this.#sets.adopted.delete(key);
    this.#known = true;
    this.#rewrite = true;
    this.#pending = [];
    return before;
  }

  /** Write what changed since the last flush (before the state record that acknowledges it). */
  flush(): void {
    if (this.#dryRun || (!this.#rewrite && this.#pending.length === 0)) return;
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    const journal = desiredJournalFile(this.#dir, this.#domain);
    const long = this.#journalLines + this.#pending.length > Math.max(COMPACT_MIN_LINES, this.size);
    if (this.#rewrite || (this.#known && long)) {
      const compact = { edge: [...this.#sets.edge], adopted: [...this.#sets.adopted] };
      writeAtomic(desiredFile(this.#dir, this.#domain), `${JSON.stringify(compact)}\n`);
      // A crash before this removal replays the old journal over the new file: same result.
      rmSync(journal, { force: true });
      this.#journalLines = 0;
    } else {
      appendFileSync(journal, `${this.#pending.join("\n")}\n`, { mode: 0o600 });
      this.#journalLines += this.#pending.length;
    }
    this.#pending = [];
    this.#rewrite = false;
  }

  #set(origin: DesiredOrigin, key: string, present: boolean): void {
    const set = this.#sets[origin];
    if (set.has(key) === present) return;
    if (present) set.add(key);
    else set.delete(key);
    this.#pending.push(`${present ? "+" : "-"}${origin} ${key}`);
  }

  /** Compact file, then the journal over it; a torn last line (crash mid-append) is skipped. */
  #load(): boolean {
    let compact: unknown;
    try {
      compact = JSON.parse(readFileSync(desiredFile(this.#dir, this.#domain), "utf8"));
    } catch {
      compact = undefined;
    }
    let known = false;
    if (compact !== null && typeof compact === "object") {
      known = true;
      for (const origin of ORIGINS) {
        const keys = (compact as Record<string, unknown>)[origin];
        if (Array.isArray(keys))
          for (const k of keys) if (typeof k === "string" && isPublicKey(k)) this.#sets[origin].add(k);
      }
    }
    let text = "";
    try {
      text = readFileSync(desiredJournalFile(this.#dir, this.#domain), "utf8");
    } catch {
      return known;
    }
    for (const line of text.split("\n")) {
      const m = /^([+-])(edge|adopted) (\S+)$/.exec(line);
      if (!m || !isPublicKey(m[3]!)) continue;
      this.#journalLines++;
      const set = this.#sets[m[2] as DesiredOrigin];
      if (m[1] === "+") set.add(m[3]!);
      else set.delete(m[3]!);
    }
    return known;
  }
}
