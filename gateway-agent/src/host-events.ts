import type { Clock } from "./clock.ts";
import type { CommandRunner, WatchHandle } from "./commands/runner.ts";
import { backoffDelay } from "./edge/backoff.ts";
import type { Logger } from "./log.ts";

/**
 * The interface a line of `ip -o monitor link` is about: `3: wg-welt: <…> …`,
 * `Deleted 3: wg-welt: <…>`, `4: vx-welt@wg-welt: <…>` (the part after `@` is the lower device).
 */
export function linkEventName(line: string): string | undefined {
  return /^(?:Deleted\s+)?(?:\[[A-Z]+\]\s*)?\d+:\s+([^:@\s]+)(?:@[^:\s]*)?:/.exec(line.trim())?.[1];
}

/**
 * The device of a deleted route or FDB entry (`ip -6 -o monitor route`, `bridge monitor fdb`):
 * `Deleted fe80::5 dev wg-welt metric 1024 …`, `Deleted 00:00:00:00:00:00 dev vx-welt dst fe80::5 …`.
 * Additions are ignored: the agent's own batches add thousands.
 */
export function deletedOn(line: string): string | undefined {
  return /^Deleted\s.*?\sdev\s+(\S+)/.exec(line.trim())?.[1];
}

export interface HostWatch {
  readonly argv: readonly string[];
  /** The interface a line concerns, if it is an event worth a reconcile. */
  readonly interfaceOf: (line: string) => string | undefined;
}

/**
 * What the kernel can lose behind the agent's back and tells about: links (deleted,
 * recreated, changed), routes and FDB entries (deleted). Peers removed with `wg set` come
 * with no event: the repair signal and the periodic reconcile cover them.
 */
export const HOST_WATCHES: readonly HostWatch[] = [
  { argv: ["ip", "-o", "monitor", "link"], interfaceOf: linkEventName },
  { argv: ["ip", "-6", "-o", "monitor", "route"], interfaceOf: deletedOn },
  { argv: ["bridge", "monitor", "fdb"], interfaceOf: deletedOn },
];

/** A monitor that ran this long was healthy: its next restart starts the backoff over. */
const HEALTHY_RUN_MS = 60_000;

export interface HostEventsOptions {
  readonly runner: CommandRunner;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  readonly watches?: readonly HostWatch[];
  /** Something happened to this interface. */
  readonly onEvent: (name: string) => void;
  /** A monitor started again after it died: events may have been missed meanwhile. */
  readonly onRestart: () => void;
}

/**
 * The monitors as children of the agent (through the runner, so inside the configured
 * namespace), each restarted with backoff whenever it exits: one set of processes for
 * every domain. Runners that cannot watch leave the agent to its periodic reconcile.
 */
export class HostEvents {
  readonly #o: HostEventsOptions;
  readonly #children = new Map<HostWatch, WatchHandle>();
  readonly #timers = new Set<unknown>();
  #stopped = false;

  constructor(options: HostEventsOptions) {
    this.#o = options;
  }

  /** False when the runner cannot run monitors. */
  start(): boolean {
    if (this.#o.runner.watch === undefined) {
      this.#o.logger.warn(
        "no host events with this command runner: interfaces are checked by the periodic reconcile only",
      );
      return false;
    }
    for (const watch of this.#o.watches ?? HOST_WATCHES) this.#spawn(watch, 0, false);
    return true;
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) this.#o.clock.clearTimeout(t);
    this.#timers.clear();
    for (const child of this.#children.values()) child.stop();
    this.#children.clear();
  }

  #spawn(watch: HostWatch, attempt: number, restart: boolean): void {
    if (this.#stopped) return;
    const started = this.#o.clock.now();
    const child = this.#o.runner.watch!(watch.argv, (line) => {
      const name = watch.interfaceOf(line);
      if (name !== undefined) this.#o.onEvent(name);
    });
    this.#children.set(watch, child);
    if (restart) this.#o.onRestart();
    void child.exited.then((code) => {
      if (this.#stopped || this.#children.get(watch) !== child) return;
      // Consecutive quick exits back off further; a long healthy run starts over.
      const failures = this.#o.clock.now() - started >= HEALTHY_RUN_MS ? 0 : attempt;
      const delay = backoffDelay(failures, this.#o.backoff, () => 1);
      this.#o.logger.warn("host monitor exited; starting it again", {
        command: watch.argv.join(" "),
        code,
        delay_ms: delay,
      });
      const timer = this.#o.clock.setTimeout(() => {
        this.#timers.delete(timer);
        this.#spawn(watch, failures + 1, true);
      }, delay);
      this.#timers.add(timer);
    });
  }
}

/**
 * Runs `fn` once a burst of triggers has been quiet for `quietMs`, but no later than
 * `maxMs` after the first trigger (an interface that keeps flapping is still looked at).
 */
export class Debounce {
  readonly #clock: Clock;
  readonly #quietMs: number;
  readonly #maxMs: number;
  readonly #fn: () => void;
  #timer: unknown;
  #first: number | undefined;

  constructor(clock: Clock, quietMs: number, maxMs: number, fn: () => void) {
    this.#clock = clock;
    this.#quietMs = quietMs;
    this.#maxMs = maxMs;
    this.#fn = fn;
  }

  trigger(): void {
    const now = this.#clock.now();
    this.#first ??= now;
    this.#clock.clearTimeout(this.#timer);
    const wait = Math.max(0, Math.min(this.#quietMs, this.#first + this.#maxMs - now));
    this.#timer = this.#clock.setTimeout(() => {
      this.#first = undefined;
      this.#timer = undefined;
      this.#fn();
    }, wait);
  }

  cancel(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#first = undefined;
  }
}
