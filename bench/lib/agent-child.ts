/**
 * An agent alone in its own process (for its RSS): config from argv[2] (JSON). Its command
 * layer is answered over IPC by a simulated host in the parent, the way a kernel keeps
 * peers outside the agent, so the RSS figure is the agent's own. Answers IPC "stats" with
 * its memory.
 */
import { mkdirSync } from "node:fs";
import {
  type CommandResult,
  type CommandRunner,
  type DaemonHandle,
  type RunOptions,
  silentLogger,
  startAgent,
} from "@wgkex-edge/gateway-agent";
import { benchAgentConfig } from "./agent.ts";

/** Sends every command to the parent, which runs it on its simulated host. */
class IpcHostRunner implements CommandRunner {
  spawns = 0;
  #next = 0;
  readonly #waiting = new Map<number, (result: CommandResult) => void>();

  constructor() {
    process.on("message", (msg: { type: string; id: number; result: CommandResult }) => {
      if (msg.type !== "result") return;
      this.#waiting.get(msg.id)?.(msg.result);
      this.#waiting.delete(msg.id);
    });
  }

  #ask(type: "run" | "daemon", argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
    this.spawns++;
    const id = ++this.#next;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      process.send!({ type, id, argv, options: options ?? {} });
    });
  }

  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
    return this.#ask("run", argv, options);
  }

  async startDaemon(argv: readonly string[]): Promise<DaemonHandle> {
    await this.#ask("daemon", argv);
    return { pid: undefined, exited: new Promise<number>(() => {}), kill() {} };
  }
}

const options = JSON.parse(process.argv[2]!);
mkdirSync(options.dir, { recursive: true });
const runner = new IpcHostRunner();
const agent = await startAgent(benchAgentConfig(options), { runner, logger: silentLogger, timers: false });
process.on("message", (msg: { type: string; gc?: boolean }) => {
  if (msg.type === "stats") {
    if (msg.gc && globalThis.gc) globalThis.gc();
    const m = process.memoryUsage();
    process.send!({
      type: "stats",
      node: process.version,
      rss: m.rss,
      heapUsed: m.heapUsed,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      spawns: runner.spawns,
    });
  }
  if (msg.type === "stop") void agent.stop().then(() => process.exit(0));
});
process.send!({ type: "ready" });
