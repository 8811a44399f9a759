import { type CommandResult, type CommandRunner, type DaemonHandle, formatArgv, type RunOptions } from "./runner.ts";

/**
 * `--dry-run`: prints every command that would change the system, exactly as it would run
 * (stdin shown as a here-document), and reports success. Read-only commands go to `inner`
 * (so the plan reflects the real host) or, without one, fail as if nothing existed.
 */
export class DryRunRunner implements CommandRunner {
  #spawns = 0;
  readonly #print: (line: string) => void;
  readonly #inner: CommandRunner | undefined;
  constructor(print: (line: string) => void, inner?: CommandRunner) {
    this.#print = print;
    this.#inner = inner;
  }
  get spawns(): number {
    return this.#spawns;
  }
  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    if (options.readOnly) {
      if (this.#inner) return this.#inner.run(argv, options);
      return { code: 1, stdout: "", stderr: "dry run: not queried" };
    }
    this.#spawns++;
    if (options.stdin !== undefined) {
      const body = options.stdin.endsWith("\n") ? options.stdin : `${options.stdin}\n`;
      this.#print(`${formatArgv(argv)} <<'EOF'\n${body}EOF`);
    } else {
      this.#print(formatArgv(argv));
    }
    return { code: 0, stdout: "", stderr: "" };
  }
  async startDaemon(argv: readonly string[]): Promise<DaemonHandle> {
    this.#spawns++;
    this.#print(`${formatArgv(argv)} &`);
    return { pid: undefined, exited: new Promise<number>(() => {}), kill() {}, planned: true };
  }
}
