import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { createInterface } from "node:readline";
import { execa } from "execa";
import type { CommandResult, CommandRunner, DaemonHandle, RunOptions, WatchHandle } from "./runner.ts";

export interface ExecaRunnerOptions {
  /** Called once per spawned process with the command name (metrics). */
  onSpawn?: (command: string) => void;
  timeoutMs?: number;
  /** Extra environment for every command. */
  env?: Record<string, string>;
}

/** Runs commands with execa: argv arrays, no shell, non-zero exits returned (not thrown). */
export class ExecaRunner implements CommandRunner {
  #spawns = 0;
  readonly #options: ExecaRunnerOptions;
  constructor(options: ExecaRunnerOptions = {}) {
    this.#options = options;
  }
  get spawns(): number {
    return this.#spawns;
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const [file, ...args] = argv;
    if (!file) throw new Error("empty command");
    this.#spawns++;
    this.#options.onSpawn?.(file);
    const result = await execa(file, args, {
      input: options.stdin ?? "",
      reject: false,
      shell: false,
      stripFinalNewline: false,
      timeout: options.timeoutMs ?? this.#options.timeoutMs ?? 120_000,
      env: { LC_ALL: "C", ...this.#options.env },
      maxBuffer: 512 * 1024 * 1024,
    });
    const stdout = typeof result.stdout === "string" ? result.stdout : "";
    let stderr = typeof result.stderr === "string" ? result.stderr : "";
    let code = result.exitCode ?? (result.signal ? -1 : 0);
    if (result.failed && result.exitCode === undefined) {
      // Spawn failure (e.g. ENOENT) or timeout: make it a readable result.
      code = result.code === "ENOENT" ? 127 : -1;
      stderr = stderr || result.shortMessage || String(result.message);
    }
    return { code, stdout, stderr };
  }

  async startDaemon(argv: readonly string[], options: { logFile?: string } = {}): Promise<DaemonHandle> {
    const [file, ...args] = argv;
    if (!file) throw new Error("empty command");
    this.#spawns++;
    this.#options.onSpawn?.(file);
    const out = options.logFile ? openSync(options.logFile, "a") : "ignore";
    const child = spawn(file, args, {
      detached: true,
      stdio: ["ignore", out, out],
      env: { ...process.env, LC_ALL: "C", ...this.#options.env },
    });
    if (typeof out === "number") closeSync(out);
    const exited = new Promise<number>((resolve) => child.once("exit", (code) => resolve(code ?? -1)));
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", () => resolve());
      child.once("error", (e) => reject(e));
    });
    child.unref();
    return { pid: child.pid, exited, kill: (signal) => child.kill(signal ?? "SIGTERM") };
  }

  watch(argv: readonly string[], onLine: (line: string) => void): WatchHandle {
    const [file, ...args] = argv;
    if (!file) throw new Error("empty command");
    this.#spawns++;
    this.#options.onSpawn?.(file);
    const child = execa(file, args, {
      reject: false,
      shell: false,
      buffer: false,
      stdin: "ignore",
      stderr: "ignore",
      env: { LC_ALL: "C", ...this.#options.env },
    });
    createInterface({ input: child.stdout }).on("line", onLine);
    const exited = child.then(
      (r) => r.exitCode ?? -1,
      () => -1,
    );
    return { exited, stop: () => child.kill("SIGTERM") };
  }
}
