/**
 * `workerd serve <config>` as a child process: the runtime alone, without Miniflare. The
 * port comes back over workerd's control pipe (`--control-fd`), so port 0 works.
 *
 * Plain Node (type stripping), no imports of the workspace's TypeScript.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import readline from "node:readline";
import type { Readable } from "node:stream";

/**
 * The workerd binary bare serving runs: the `workerd` dependency, the release wrangler ships
 * (so the one `wrangler deploy` checks compatibility against), not the older one inside
 * Miniflare 4. The newer release serves requests to a Durable Object in order: with
 * Miniflare 4's (2026-04-26) single requests waited up to seconds behind others under load
 * (bench/README.md, "Where the tails come from"). `MINIFLARE_WORKERD_PATH` overrides it, as
 * it does for Miniflare.
 */
export function workerdBinary(): string {
  if (process.env.MINIFLARE_WORKERD_PATH) return process.env.MINIFLARE_WORKERD_PATH;
  const bin = createRequire(import.meta.url)("workerd") as { default: string } | string;
  return typeof bin === "string" ? bin : bin.default;
}

export interface WorkerdProcess {
  url: URL;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface ServeOptions {
  /** Forward workerd's output. */
  verbose?: boolean;
  /** Every line workerd prints (its console). */
  onLine?: (line: string) => void;
  /** Working directory (where V8 writes any log files it is asked for); default: the config's. */
  cwd?: string;
  timeoutMs?: number;
}

/** Start `workerd serve configPath` and wait until its "http" socket listens. */
export async function serveWorkerd(configPath: string, options: ServeOptions = {}): Promise<WorkerdProcess> {
  const args = ["serve", configPath, "--control-fd=3"];
  const output = options.verbose ? "inherit" : "pipe";
  const child = spawn(workerdBinary(), args, {
    cwd: options.cwd ?? path.dirname(configPath),
    stdio: ["ignore", output, output, "pipe"],
  });
  let log = "";
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on("data", (chunk) => {
      log = `${log}${chunk}`.slice(-4_000);
    });
    if (stream && options.onLine) readline.createInterface(stream).on("line", options.onLine);
  }
  const exited = new Promise<never>((_, reject) => {
    child.once("exit", (code, signal) =>
      reject(new Error(`workerd exited (${code ?? signal}) before listening:\n${log.trim()}`)),
    );
    child.once("error", reject);
  });
  exited.catch(() => {}); // after startup an exit is stop()'s business
  const listening = (async (): Promise<number> => {
    for await (const line of readline.createInterface(child.stdio[3] as Readable)) {
      const message = JSON.parse(line) as { event?: string; socket?: string; port?: number };
      if (message.event === "listen" && message.socket === "http" && message.port) return message.port;
    }
    throw new Error("workerd closed its control pipe before listening");
  })();
  const timeoutMs = options.timeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`workerd did not listen within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const port = await Promise.race([listening, exited, timeout]);
    return {
      url: new URL(`http://127.0.0.1:${port}/`),
      pid: child.pid!,
      child,
      stop: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const gone = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await gone;
      },
    };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
