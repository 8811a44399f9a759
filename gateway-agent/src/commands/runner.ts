/**
 * The command layer: every change to the host goes through one `CommandRunner` as an argv
 * array (never a shell), with optional stdin. Implementations: execa (real), recording
 * (tests), dry-run (prints what would run).
 */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Text written to the command's standard input. */
  readonly stdin?: string;
  /** The command only reads state; a dry run still executes it (through its inner runner). */
  readonly readOnly?: boolean;
  readonly timeoutMs?: number;
}

/** A long-running child such as wireguard-go in the foreground. */
export interface DaemonHandle {
  readonly pid: number | undefined;
  /** Resolves with the exit code (or -1 when killed by a signal). */
  readonly exited: Promise<number>;
  kill(signal?: NodeJS.Signals): void;
  /** A dry run's plan: nothing was started, so nothing will come up to wait for. */
  readonly planned?: boolean;
}

/** A child that reports its output line by line until it exits or is stopped (`ip -o monitor link`). */
export interface WatchHandle {
  /** Resolves with the exit code (-1 when killed by a signal or when it could not start). */
  readonly exited: Promise<number>;
  stop(): void;
}

export interface CommandRunner {
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /** Start a long-running process detached from the agent (it survives an agent restart). */
  startDaemon(argv: readonly string[], options?: { logFile?: string }): Promise<DaemonHandle>;
  /**
   * Start a child of the agent (it dies with it) and hand over each line it prints. Optional:
   * without it the agent has no link events and relies on its periodic reconcile.
   */
  watch?(argv: readonly string[], onLine: (line: string) => void): WatchHandle;
  /** Processes spawned so far (run + startDaemon). */
  readonly spawns: number;
}

export const ok = (stdout = ""): CommandResult => ({ code: 0, stdout, stderr: "" });
export const fail = (stderr: string, code = 1): CommandResult => ({ code, stdout: "", stderr });

/** Quote one argument for display as a POSIX shell word (display only: nothing runs a shell). */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

export const formatArgv = (argv: readonly string[]): string => argv.map(shellQuote).join(" ");

/** Thrown for a command that had to succeed. */
export class CommandError extends Error {
  override name = "CommandError";
  readonly argv: readonly string[];
  readonly result: CommandResult;
  constructor(argv: readonly string[], result: CommandResult) {
    super(`${formatArgv(argv)} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`);
    this.argv = argv;
    this.result = result;
  }
}

/** Run and throw `CommandError` on a non-zero exit. */
export async function mustRun(runner: CommandRunner, argv: readonly string[], options?: RunOptions) {
  const result = await runner.run(argv, options);
  if (result.code !== 0) throw new CommandError(argv, result);
  return result;
}
