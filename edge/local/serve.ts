/**
 * The edge as a local process: the Worker bundle in workerd (through Miniflare, or bare
 * `workerd serve`), with persisted Durable Object storage, the wrangler.toml defaults and
 * test or demo secrets.
 * Used by `npm start`, the integration and end-to-end suites, and the benchmarks. Unlike
 * `wrangler dev` there is no proxy in front, so what is measured is workerd and our code.
 *
 * Plain Node (type stripping, no imports of the workspace's TypeScript) so it can run as
 * a child process: `node edge/local/serve.ts --port 8787 --persist .wrangler/local`.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare4";
import { edgeWorkerdConfig, startBareWorkerd } from "./bare-workerd.ts";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const DEFAULT_BUNDLE_DIR = path.join(REPO_ROOT, ".wrangler", "local-build");

export interface LocalEdgeOptions {
  port?: number;
  host?: string;
  /** Directory for Durable Object storage; false keeps it in memory. */
  persistDir?: string | false;
  /** WGKEX_CONFIG override; default: wrangler.toml's. */
  config?: unknown;
  gatewayTokens?: Record<string, string>;
  adminToken?: string;
  /** Per-address limit of the node API; false = none bound (the config may still disable limits). */
  nodeLimit?: { limit: number; period: 10 | 60 } | false;
  bundleDir?: string;
  /** Forward workerd's console output. */
  verbose?: boolean;
  /** The PARKER_SIGNING_KEY secret (docs/parker.md). */
  parkerSigningKey?: string;
  /** Every line workerd prints (its console), e.g. to assert a log line. */
  onLog?: (line: string) => void;
  /** How requests reach the Worker (default "miniflare"); see `Serving`. */
  serving?: Serving;
  /** V8 flags, e.g. --perf-basic-prof for `perf` profiles; "workerd" serving only. */
  v8Flags?: string[];
}

/**
 * - "miniflare": Miniflare 4 with its entry worker in front of ours (sets CF-Connecting-IP,
 *   serves Miniflare's own routes): every request runs two Workers;
 * - "direct": Miniflare 4, but the listening socket is the Worker's own
 *   (`unsafeDirectSockets`): one Worker per request, Miniflare's bindings (rate limiter);
 * - "workerd": `workerd serve` with a generated config (edge/local/workerd-config.ts), no
 *   Miniflare: what a self-hoster runs. No rate-limit binding (Miniflare emulates it).
 */
export type Serving = "miniflare" | "direct" | "workerd";

/**
 * What `startLocalEdge` uses unless told otherwise (npm start, tests, the bench): the
 * Worker's own socket. Miniflare's entry worker in front doubles a small Worker's CPU per
 * request and closes kept-alive connections after an unread body; Cloudflare has neither
 * (bench/README.md, "Where the tails come from").
 */
export const DEFAULT_SERVING: Serving = "direct";

export interface LocalEdge {
  url: URL;
  /** Set for the Miniflare serving paths. */
  miniflare: Miniflare | undefined;
  /** The workerd process, when known without looking ("workerd" serving). */
  pid: number | undefined;
  stop(): Promise<void>;
}

export interface WranglerDefaults {
  compatibilityDate: string;
  compatibilityFlags: string[];
  config: unknown;
  nodeLimit: { limit: number; period: 10 | 60 } | undefined;
}

/** The defaults of wrangler.toml, read with wrangler's own parser. */
export async function wranglerDefaults(
  configPath = path.join(REPO_ROOT, "wrangler.toml"),
  env?: string,
): Promise<WranglerDefaults> {
  const { unstable_readConfig } = await import("wrangler");
  const config = unstable_readConfig({ config: configPath, ...(env ? { env } : {}) }, { hideWarnings: true });
  const limiter = (config.ratelimits as Array<{ name: string; simple: { limit: number; period: number } }>).find(
    (r) => r.name === "NODE_LIMITER",
  );
  return {
    compatibilityDate: config.compatibility_date ?? "2026-04-01",
    compatibilityFlags: config.compatibility_flags,
    config: (config.vars as Record<string, unknown>).WGKEX_CONFIG,
    nodeLimit: limiter ? { limit: limiter.simple.limit, period: limiter.simple.period as 10 | 60 } : undefined,
  };
}

/** Bundle the Worker exactly as `wrangler deploy` would, into `outdir`. */
export function buildEdge(outdir = DEFAULT_BUNDLE_DIR): string {
  mkdirSync(outdir, { recursive: true });
  const wrangler = path.join(REPO_ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
  const result = spawnSync(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", outdir], {
    cwd: REPO_ROOT,
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${result.stdout}\n${result.stderr}`);
  return path.join(outdir, "index.js");
}

/** Newest modification time of the sources a bundle is built from. */
function newestSource(): number {
  let newest = statSync(path.join(REPO_ROOT, "wrangler.toml")).mtimeMs;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else newest = Math.max(newest, statSync(full).mtimeMs);
    }
  };
  walk(path.join(REPO_ROOT, "edge", "src"));
  walk(path.join(REPO_ROOT, "shared", "src"));
  return newest;
}

/** Build the bundle unless one newer than every source exists. */
export function ensureBuilt(bundleDir = DEFAULT_BUNDLE_DIR): string {
  const scriptPath = path.join(bundleDir, "index.js");
  if (!existsSync(scriptPath) || statSync(scriptPath).mtimeMs < newestSource()) buildEdge(bundleDir);
  return scriptPath;
}

/** The Worker's variables and secrets: WGKEX_CONFIG (the option or wrangler.toml's), tokens. */
function edgeBindings(options: LocalEdgeOptions, defaults: WranglerDefaults): Record<string, unknown> {
  const bindings: Record<string, unknown> = {
    WGKEX_CONFIG: options.config ?? defaults.config,
    GATEWAY_TOKENS: JSON.stringify(options.gatewayTokens ?? {}),
  };
  if (options.adminToken) bindings.ADMIN_TOKEN = options.adminToken;
  if (options.parkerSigningKey !== undefined) bindings.PARKER_SIGNING_KEY = options.parkerSigningKey;
  return bindings;
}

export async function startLocalEdge(options: LocalEdgeOptions = {}): Promise<LocalEdge> {
  const bundleDir = options.bundleDir ?? DEFAULT_BUNDLE_DIR;
  const scriptPath = ensureBuilt(bundleDir);
  const defaults = await wranglerDefaults();
  const nodeLimit = options.nodeLimit === undefined ? defaults.nodeLimit : options.nodeLimit || undefined;
  const bindings = edgeBindings(options, defaults);
  if (options.persistDir) mkdirSync(options.persistDir, { recursive: true });
  const serving = options.serving ?? DEFAULT_SERVING;
  if (serving === "workerd") {
    if (nodeLimit) throw new Error("bare workerd has no rate-limit binding: pass nodeLimit: false");
    const edge = await startBareWorkerd({
      scriptPath,
      compatibilityDate: defaults.compatibilityDate,
      compatibilityFlags: defaults.compatibilityFlags,
      bindings,
      address: `${options.host ?? "127.0.0.1"}:${options.port ?? 0}`,
      persistDir: options.persistDir || undefined,
      ...(options.v8Flags ? { v8Flags: options.v8Flags } : {}),
      ...(options.verbose ? { verbose: true } : {}),
      ...(options.onLog ? { onLog: options.onLog } : {}),
    });
    return { ...edge, miniflare: undefined };
  }
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 0;
  const miniflare = new Miniflare({
    modules: true,
    scriptPath,
    modulesRoot: bundleDir,
    compatibilityDate: defaults.compatibilityDate,
    compatibilityFlags: defaults.compatibilityFlags,
    durableObjects: {
      DOMAIN_REGISTRY: { className: "DomainRegistry", useSQLite: true },
      EDGE_STATS: { className: "EdgeStats", useSQLite: true },
    },
    ...(nodeLimit ? { ratelimits: { NODE_LIMITER: { simple: nodeLimit } } } : {}),
    bindings: bindings as Record<string, string>,
    durableObjectsPersist: options.persistDir || false,
    cf: false,
    ...(serving === "direct" ? { unsafeDirectSockets: [{ host, port }], host, port: 0 } : { host, port }),
    ...(options.onLog
      ? {
          handleRuntimeStdio: (stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) =>
            forwardLines([stdout, stderr], options.onLog!, options.verbose),
        }
      : options.verbose
        ? {}
        : { handleRuntimeStdio: () => {} }),
  });
  const entry = await miniflare.ready;
  const url = serving === "direct" ? await miniflare.unsafeGetDirectURL() : entry;
  return { url, miniflare, pid: undefined, stop: () => miniflare.dispose() };
}

/**
 * Self-hosting: the bundle and a workerd configuration in `dir` (`edge.capnp`, mode 600: it
 * holds the secrets), objects persisted in `options.persistDir`. Returns the config's path.
 */
export async function writeWorkerdSetup(dir: string, options: LocalEdgeOptions): Promise<string> {
  const bundle = ensureBuilt(options.bundleDir ?? DEFAULT_BUNDLE_DIR);
  const defaults = await wranglerDefaults();
  mkdirSync(dir, { recursive: true });
  mkdirSync(options.persistDir as string, { recursive: true });
  const scriptPath = path.join(dir, "index.js");
  copyFileSync(bundle, scriptPath);
  const configPath = path.join(dir, "edge.capnp");
  const text = edgeWorkerdConfig({
    scriptPath,
    compatibilityDate: defaults.compatibilityDate,
    compatibilityFlags: defaults.compatibilityFlags,
    bindings: edgeBindings(options, defaults),
    storageDir: path.resolve(options.persistDir as string),
    address: `${options.host ?? "127.0.0.1"}:${options.port ?? 8787}`,
    configDir: dir,
  });
  writeFileSync(configPath, text, { mode: 0o600 });
  return configPath;
}

/** workerd's output, line by line, to `onLine` (and on to this process's output when verbose). */
function forwardLines(streams: NodeJS.ReadableStream[], onLine: (line: string) => void, verbose?: boolean): void {
  for (const stream of streams) {
    let rest = "";
    stream.on("data", (chunk: Buffer) => {
      if (verbose) process.stderr.write(chunk);
      const lines = (rest + chunk.toString()).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) onLine(line);
    });
  }
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const SERVINGS: readonly Serving[] = ["miniflare", "direct", "workerd"];

/** `--serving` as given on the command line; a clear error for anything else. */
export function parseServing(value: string | undefined): Serving | undefined {
  if (value === undefined) return undefined;
  if ((SERVINGS as readonly string[]).includes(value)) return value as Serving;
  throw new Error(`--serving: must be one of ${SERVINGS.join(", ")} (got "${value}")`);
}

// As a program: serve until SIGTERM/SIGINT, print one JSON line with the URL when ready.
// With --write-config DIR (bare workerd): write DIR/edge.capnp and the bundle, print the
// `workerd serve` command, and exit (self-hosting: see docs/deployment.md).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const configFile = argValue("--config");
  const tokensFile = argValue("--tokens");
  const parkerKeyFile = argValue("--parker-key-file");
  const serving = parseServing(argValue("--serving"));
  const options: LocalEdgeOptions = {
    ...(serving ? { serving } : {}),
    host: argValue("--host") ?? "127.0.0.1",
    port: Number(argValue("--port") ?? 8787),
    persistDir: argValue("--persist") ?? false,
    ...(configFile ? { config: JSON.parse(readFileSync(configFile, "utf8")) } : {}),
    ...(tokensFile ? { gatewayTokens: JSON.parse(readFileSync(tokensFile, "utf8")) } : {}),
    ...(argValue("--admin-token") ? { adminToken: argValue("--admin-token") } : {}),
    ...(parkerKeyFile ? { parkerSigningKey: readFileSync(parkerKeyFile, "utf8") } : {}),
    ...(process.argv.includes("--no-node-limit") || serving === "workerd" ? { nodeLimit: false as const } : {}),
    verbose: process.argv.includes("--verbose"),
  };
  const writeTo = argValue("--write-config");
  if (writeTo !== undefined) {
    if (serving !== "workerd") throw new Error("--write-config: only with --serving workerd");
    if (!options.persistDir) throw new Error("--write-config: give --persist DIR, where the objects' SQLite lives");
    const configPath = await writeWorkerdSetup(path.resolve(writeTo), options);
    console.log(`wrote ${configPath} (it holds the secrets: mode 600)\nrun: workerd serve ${configPath}`);
    process.exit(0);
  }
  const edge = await startLocalEdge(options);
  console.log(JSON.stringify({ ready: true, url: edge.url.href }));
  const stop = async () => {
    await edge.stop();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
