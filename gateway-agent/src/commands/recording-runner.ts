import type { CommandResult, CommandRunner, DaemonHandle, RunOptions, WatchHandle } from "./runner.ts";

export interface RecordedCall {
  readonly argv: readonly string[];
  readonly stdin: string | undefined;
  readonly daemon?: boolean;
  readonly watch?: boolean;
}

type Responder = (call: RecordedCall) => CommandResult | Promise<CommandResult> | undefined;

/**
 * Test double: records every argv (and stdin) and answers from scripted responders, the
 * most recently added first; unmatched commands succeed with empty output.
 */
export class RecordingRunner implements CommandRunner {
  readonly calls: RecordedCall[] = [];
  #responders: Responder[] = [];
  readonly #watchers = new Set<{ onLine: (line: string) => void; exit: (code: number) => void }>();

  get spawns(): number {
    return this.calls.length;
  }

  /** Answer calls whose argv starts with `prefix` (or for which the predicate is true). */
  on(
    match: readonly string[] | ((call: RecordedCall) => boolean),
    result: CommandResult | ((call: RecordedCall) => CommandResult | Promise<CommandResult>),
  ): this {
    const matches =
      typeof match === "function" ? match : (call: RecordedCall) => match.every((part, i) => call.argv[i] === part);
    this.#responders.unshift((call) => {
      if (!matches(call)) return undefined;
      return typeof result === "function" ? result(call) : result;
    });
    return this;
  }

  /** Add a catch-all responder consulted before the scripted ones (e.g. a simulated host). */
  use(responder: Responder): this {
    this.#responders.unshift(responder);
    return this;
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const call: RecordedCall = { argv: [...argv], stdin: options.stdin };
    this.calls.push(call);
    for (const responder of this.#responders) {
      const result = await responder(call);
      if (result) return result;
    }
    return { code: 0, stdout: "", stderr: "" };
  }

  async startDaemon(argv: readonly string[]): Promise<DaemonHandle> {
    const call: RecordedCall = { argv: [...argv], stdin: undefined, daemon: true };
    this.calls.push(call);
    for (const responder of this.#responders) await responder(call);
    return { pid: undefined, exited: new Promise<number>(() => {}), kill() {} };
  }

  /** Records the call; `emit` hands lines to it until it is stopped or `endWatches` ends it. */
  watch(argv: readonly string[], onLine: (line: string) => void): WatchHandle {
    this.calls.push({ argv: [...argv], stdin: undefined, watch: true });
    let exit!: (code: number) => void;
    const exited = new Promise<number>((resolve) => {
      exit = resolve;
    });
    const watcher = { onLine, exit };
    this.#watchers.add(watcher);
    const end = (code: number) => {
      if (this.#watchers.delete(watcher)) exit(code);
    };
    watcher.exit = end;
    return { exited, stop: () => end(-1) };
  }

  /** A line printed by every running watch (e.g. a link event). */
  emit(line: string): void {
    for (const w of [...this.#watchers]) w.onLine(line);
  }

  /** Every running watch exits with `code` (the monitor died). */
  endWatches(code = 1): void {
    for (const w of [...this.#watchers]) w.exit(code);
  }

  get watching(): number {
    return this.#watchers.size;
  }

  /** Argv of the calls so far (mutating commands only when `writesOnly`), for exact assertions. */
  argvs(filter?: (call: RecordedCall) => boolean): string[][] {
    return this.calls.filter(filter ?? (() => true)).map((c) => [...c.argv]);
  }

  clear(): void {
    this.calls.length = 0;
  }
}
