import type { PeerEntry } from "@wgkex-edge/shared";
import type { Clock } from "../clock.ts";
import type { UnappliedEntry } from "../dataplane/changes.ts";

/** A `peers` batch at the head waits this long for more frames to join it… */
export const COALESCE_MS = 20;
/** …unless it already holds this many entries. */
export const BATCH_MAX_ENTRIES = 5000;

export type Job =
  | {
      readonly kind: "peers";
      readonly entries: PeerEntry[];
      /** Entries of the same frames the agent cannot apply (reported failed). */
      readonly unapplied: UnappliedEntry[];
      readonly receivedAt: number[];
    }
  | {
      readonly kind: "snapshot";
      readonly keys: string[];
      readonly head: number;
      readonly receivedAt: number;
      /** Parker: each key's ranges. */
      readonly ranges?: ReadonlyMap<string, readonly string[]> | undefined;
    }
  | { readonly kind: "task"; readonly name: string; readonly run: () => Promise<void> };

export interface WorkQueueOptions {
  readonly clock: Clock;
  /** Runs a `peers` or `snapshot` batch (tasks run themselves). */
  readonly runBatch: (job: Exclude<Job, { kind: "task" }>) => Promise<void>;
  /** After a drain that ran batches, still inside the queue (so `idle()` waits for it). */
  readonly afterBatches?: () => Promise<void>;
  readonly onError: (job: string, error: unknown) => void;
}

/**
 * One domain's serial queue: batches and tasks never interleave on the host. `peers` frames
 * that arrive while a batch waits at the head, or while another job runs, join that batch:
 * a storm of single-key frames becomes a few batches, not a process spawn per key
 * (bench/README.md, "storm"). The wait is one timer on the injected clock, cut short when
 * the batch is full or the queue stops.
 */
export class WorkQueue {
  readonly #o: WorkQueueOptions;
  readonly #jobs: Job[] = [];
  #busy: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #stopping = false;
  #killed = false;

  constructor(options: WorkQueueOptions) {
    this.#o = options;
  }

  get stopped(): boolean {
    return this.#stopping || this.#killed;
  }

  get killed(): boolean {
    return this.#killed;
  }

  /** Queue a frame's entries; they join a `peers` batch that has not started yet. */
  peers(entries: readonly PeerEntry[], receivedAt: number, unapplied: readonly UnappliedEntry[] = []): void {
    const last = this.#jobs[this.#jobs.length - 1];
    if (last?.kind === "peers") {
      last.entries.push(...entries);
      last.unapplied.push(...unapplied);
      last.receivedAt.push(receivedAt);
    } else {
      this.#jobs.push({ kind: "peers", entries: [...entries], unapplied: [...unapplied], receivedAt: [receivedAt] });
    }
    if (this.#wake && !this.#coalescing()) this.#wake();
    this.#pump();
  }

  snapshot(keys: string[], head: number, receivedAt: number, ranges?: ReadonlyMap<string, readonly string[]>): void {
    this.#jobs.push({ kind: "snapshot", keys, head, receivedAt, ranges });
    this.#pump();
  }

  /** Run `run` in turn; settles with it. Tasks dropped by `stop()` never settle. */
  task<T>(name: string, run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#jobs.push({
        kind: "task",
        name,
        run: () =>
          run().then(resolve, (e: unknown) => {
            reject(e);
            throw e;
          }),
      });
      this.#pump();
    });
  }

  /** Wait until nothing is queued or running. */
  async idle(): Promise<void> {
    while (this.#busy) await this.#busy;
  }

  /** Finish the job in flight, drop the rest (the edge replays what was not acked). */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#jobs.length = 0;
    this.#wake?.();
    await this.idle();
  }

  /** Crash simulation: drop everything now. */
  kill(): void {
    this.#killed = true;
    this.#jobs.length = 0;
    this.#wake?.();
  }

  /**
   * Drop the queued batches and snapshots (not the tasks): the session starts over from the
   * last applied seq, so the edge sends them again, and none of them may be acked before.
   */
  dropBatches(): number {
    const before = this.#jobs.length;
    const kept = this.#jobs.filter((j) => j.kind === "task");
    this.#jobs.length = 0;
    this.#jobs.push(...kept);
    return before - kept.length;
  }

  #queuedEntries(): number {
    let n = 0;
    for (const job of this.#jobs) if (job.kind === "peers") n += job.entries.length;
    return n;
  }

  /** A `peers` batch at the head that may still grow. */
  #coalescing(): boolean {
    return this.#jobs[0]?.kind === "peers" && this.#queuedEntries() < BATCH_MAX_ENTRIES && !this.stopped;
  }

  #pump(): void {
    if (this.#busy || this.#killed) return;
    this.#busy = this.#drain().finally(() => {
      this.#busy = undefined;
      if (this.#jobs.length > 0 && !this.stopped) this.#pump();
    });
  }

  async #drain(): Promise<void> {
    if (this.#coalescing()) await this.#window();
    let batches = 0;
    while (this.#jobs.length > 0 && !this.#killed) {
      const job = this.#jobs.shift()!;
      try {
        if (job.kind === "task") await job.run();
        else {
          batches++;
          await this.#o.runBatch(job);
        }
      } catch (e) {
        if (this.#killed) break;
        this.#o.onError(job.kind === "task" ? job.name : job.kind, e);
      }
      if (this.#stopping) break;
    }
    if (batches > 0 && !this.#killed) await this.#o.afterBatches?.();
  }

  #window(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.#o.clock.setTimeout(() => done(), COALESCE_MS);
      const done = () => {
        this.#o.clock.clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      this.#wake = done;
    });
  }
}
