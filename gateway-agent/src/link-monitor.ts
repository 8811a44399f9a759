import type { Clock } from "./clock.ts";
import type { CommandRunner, WatchHandle } from "./commands/runner.ts";
import { backoffDelay } from "./edge/backoff.ts";
import type { Logger } from "./log.ts";

export const LINK_MONITOR = ["ip", "-o", "monitor", "link"] as const;

/**
 * The interface a line of `ip -o monitor link` is about: `3: wg-welt: <…> …`,
 * `Deleted 3: wg-welt: <…>`, `4: vx-welt@wg-welt: <…>` (the part after `@` is the lower device).
 */
export function linkEventName(line: string): string | undefined {
  return /^(?:Deleted\s+)?(?:\[[A-Z]+\]\s*)?\d+:\s+([^:@\s]+)(?:@[^:\s]*)?:/.exec(line.trim())?.[1];
}

/** A monitor that ran this long was healthy: its next restart starts the backoff over. */
const HEALTHY_RUN_MS = 60_000;

export interface LinkMonitorOptions {
  readonly runner: CommandRunner;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  /** An interface was added, changed or deleted. */
  readonly onLink: (name: string) => void;
  /** The monitor started again after it died: events may have been missed meanwhile. */
  readonly onRestart: () => void;
}

/**
 * `ip -o monitor link` as a child of the agent (inside the configured namespace, through the
 * runner), restarted with backoff whenever it exits: the interfaces of every domain, watched
 * by one process. Runners that cannot watch leave the agent to its periodic reconcile.
 */
export class LinkMonitor {
  readonly #o: LinkMonitorOptions;
  #child: WatchHandle | undefined;
  #timer: unknown;
  #attempt = 0;
  #stopped = false;

  constructor(options: LinkMonitorOptions) {
    this.#o = options;
  }

  /** False when the runner cannot run a monitor. */
  start(): boolean {
    if (this.#o.runner.watch === undefined) {
      this.#o.logger.warn(
        "no link events with this command runner: interfaces are checked by the periodic reconcile only",
      );
      return false;
    }
    this.#spawn(false);
    return true;
  }

  stop(): void {
    this.#stopped = true;
    this.#o.clock.clearTimeout(this.#timer);
    this.#child?.stop();
    this.#child = undefined;
  }

  #spawn(restart: boolean): void {
    if (this.#stopped) return;
    const started = this.#o.clock.now();
    const child = this.#o.runner.watch!(LINK_MONITOR, (line) => {
      const name = linkEventName(line);
      if (name !== undefined) this.#o.onLink(name);
    });
    this.#child = child;
    if (restart) this.#o.onRestart();
    void child.exited.then((code) => {
      if (this.#stopped || this.#child !== child) return;
      if (this.#o.clock.now() - started >= HEALTHY_RUN_MS) this.#attempt = 0;
      const delay = backoffDelay(this.#attempt++, this.#o.backoff, () => 1);
      this.#o.logger.warn("link monitor exited; starting it again", { code, delay_ms: delay });
      this.#timer = this.#o.clock.setTimeout(() => this.#spawn(true), delay);
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
