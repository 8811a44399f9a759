import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare4";
import {
  buildEdge,
  type LocalEdge,
  REPO_ROOT,
  type Serving,
  startLocalEdge,
  wranglerDefaults,
} from "../../edge/local/serve.ts";
import { workerdConfig } from "../../edge/local/workerd-config.ts";
import { serveWorkerd } from "../../edge/local/workerd-process.ts";
import { BENCH_TOKENS } from "./gateway.ts";
import { childPids } from "./proc.ts";

const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** Our own bundle directory, so a bench never races other users of .wrangler/local-build. */
export const BENCH_BUNDLE_DIR = path.join(REPO_ROOT, ".wrangler", "bench-build");

let built = false;
/** Bundle the edge exactly as `wrangler deploy --dry-run` does, once per bench run. */
export function buildBenchEdge(): void {
  if (built) return;
  buildEdge(BENCH_BUNDLE_DIR);
  built = true;
}

export const benchTemp = (prefix: string): string => mkdtempSync(path.join(tmpdir(), `wgkex-bench-${prefix}-`));

/** The bench configuration: rate limits off, the given domains and gateways. */
export function benchConfig(domains: string[], gateways: string[]): unknown {
  return {
    domains,
    domain_prefixes: ["ffmuc_"],
    gateways: gateways.map((name) => ({ name })),
    limits: { enabled: false },
    retention_hours: 168,
  };
}

export interface Served {
  url: URL;
  /** The workerd process serving it (for CPU time), if found. */
  pid: number | undefined;
  persistDir: string | undefined;
  stop(): Promise<void>;
}

/** Run `start`, and find the workerd child it spawned (the one that was not there before). */
async function withNewWorkerd<T>(start: () => Promise<T>): Promise<{ value: T; pid: number | undefined }> {
  const before = new Set(childPids(process.pid, "workerd"));
  const value = await start();
  const pid = childPids(process.pid, "workerd").find((p) => !before.has(p));
  return { value, pid };
}

export interface BenchEdgeOptions {
  /** Persisted SQLite in a temp dir (default) or in memory. */
  persist?: boolean;
  serving?: Serving;
  /** V8 flags ("workerd" serving), e.g. --perf-basic-prof for perf profiles. */
  v8Flags?: string[];
  /** Configuration fields on top of `benchConfig` (e.g. limits for a status test). */
  config?: Record<string, unknown>;
  /** Parker (bench/suites/parker.ts): the config with its parker section, and the signing key. */
  parker?: { config: unknown; signingKey: string };
}

export async function startBenchEdge(
  domains: string[],
  gateways: string[],
  options: BenchEdgeOptions = {},
): Promise<Served & { edge: LocalEdge }> {
  buildBenchEdge();
  const persistDir = (options.persist ?? true) ? benchTemp("edge") : undefined;
  const { value: edge, pid } = await withNewWorkerd(() =>
    startLocalEdge({
      bundleDir: BENCH_BUNDLE_DIR,
      persistDir: persistDir ?? false,
      config: options.parker?.config ?? { ...(benchConfig(domains, gateways) as object), ...options.config },
      ...(options.parker ? { parkerSigningKey: options.parker.signingKey } : {}),
      gatewayTokens: Object.fromEntries(gateways.map((g) => [g, BENCH_TOKENS[g]!])),
      nodeLimit: false,
      ...(options.serving ? { serving: options.serving } : {}),
      ...(options.v8Flags ? { v8Flags: options.v8Flags } : {}),
    }),
  );
  return {
    url: edge.url,
    pid: edge.pid ?? pid,
    persistDir,
    edge,
    stop: async () => {
      await edge.stop();
      if (persistDir) rmSync(persistDir, { recursive: true, force: true });
    },
  };
}

/** constant: answers at once; rpc: Worker -> DO -> returns; upsert: Worker -> DO -> one SQLite upsert. */
export type ReferenceKind = "constant" | "rpc" | "upsert";

/**
 * A reference Worker (bench/reference/*.js) with the edge's runtime settings, served the
 * same way as the edge it is compared with (see `Serving`).
 */
export async function startReferenceWorker(
  kind: ReferenceKind,
  serving: Serving = "miniflare",
  /** V8 flags ("workerd" serving only). */
  v8Flags?: string[],
): Promise<Served> {
  const defaults = await wranglerDefaults();
  const withObject = kind !== "constant";
  const persistDir = withObject ? benchTemp(kind) : undefined;
  const scriptPath = path.join(BENCH_DIR, "reference", `${kind}-worker.js`);
  if (serving === "workerd") {
    const dir = benchTemp("workerd");
    const configPath = path.join(dir, "worker.capnp");
    writeFileSync(
      configPath,
      workerdConfig(
        {
          modules: [{ name: "worker.js", path: scriptPath }],
          compatibilityDate: defaults.compatibilityDate,
          compatibilityFlags: defaults.compatibilityFlags,
          ...(withObject
            ? {
                bindings: [{ name: "KEY_STORE", durableObjectNamespace: "KeyStore" }],
                durableObjects: ["KeyStore"],
                storageDir: persistDir,
              }
            : {}),
        },
        { configDir: dir, address: "127.0.0.1:0", ...(v8Flags ? { v8Flags } : {}) },
      ),
    );
    const workerd = await serveWorkerd(configPath);
    return {
      url: workerd.url,
      pid: workerd.pid,
      persistDir,
      stop: async () => {
        await workerd.stop();
        rmSync(dir, { recursive: true, force: true });
        if (persistDir) rmSync(persistDir, { recursive: true, force: true });
      },
    };
  }
  const { value: mf, pid } = await withNewWorkerd(async () => {
    const mf = new Miniflare({
      modules: true,
      scriptPath,
      compatibilityDate: defaults.compatibilityDate,
      compatibilityFlags: defaults.compatibilityFlags,
      ...(withObject
        ? {
            durableObjects: { KEY_STORE: { className: "KeyStore", useSQLite: true } },
            durableObjectsPersist: persistDir ?? false,
          }
        : {}),
      cf: false,
      host: "127.0.0.1",
      port: 0,
      ...(serving === "direct" ? { unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }] } : {}),
      handleRuntimeStdio: () => {},
    });
    await mf.ready;
    return mf;
  });
  return {
    url: serving === "direct" ? await mf.unsafeGetDirectURL() : await mf.ready,
    pid,
    persistDir,
    stop: async () => {
      await mf.dispose();
      if (persistDir) rmSync(persistDir, { recursive: true, force: true });
    },
  };
}

/** The bare Node http server in its own process (system Node is fine: no TypeScript features). */
export async function startNodeHttp(): Promise<Served> {
  const child: ChildProcess = spawn(process.execPath, [path.join(BENCH_DIR, "reference", "node-http.ts")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let text = "";
    child.stdout!.on("data", (chunk) => {
      text += chunk;
      const line = text.split("\n")[0];
      if (text.includes("\n")) resolve(JSON.parse(line!).port);
    });
    child.once("exit", (code) => reject(new Error(`node-http exited with ${code}`)));
  });
  return {
    url: new URL(`http://127.0.0.1:${port}/`),
    pid: child.pid,
    persistDir: undefined,
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}
