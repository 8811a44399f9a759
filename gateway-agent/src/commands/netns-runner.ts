import type { CommandResult, CommandRunner, DaemonHandle, RunOptions, WatchHandle } from "./runner.ts";

/** Runs every command inside a network namespace (`ip netns exec NS …`): tests and demos. */
export function netnsRunner(inner: CommandRunner, namespace: string): CommandRunner {
  const wrap = (argv: readonly string[]) => ["ip", "netns", "exec", namespace, ...argv];
  return {
    get spawns() {
      return inner.spawns;
    },
    run: (argv: readonly string[], options?: RunOptions): Promise<CommandResult> => inner.run(wrap(argv), options),
    startDaemon: (argv: readonly string[], options?: { logFile?: string }): Promise<DaemonHandle> =>
      inner.startDaemon(wrap(argv), options),
    ...(inner.watch
      ? {
          watch: (argv: readonly string[], onLine: (line: string) => void): WatchHandle =>
            inner.watch!(wrap(argv), onLine),
        }
      : {}),
  };
}
