/**
 * A small world of network namespaces on this machine, for the end-to-end suite and
 * `npm run demo:netns`:
 *
 * - the edge: `node edge/local/serve.ts` (the Worker bundle in workerd, persisted storage) as a
 *   child process in the root namespace on 127.0.0.1, so it can be killed and restarted;
 * - gateways: one namespace each with wireguard-go + kernel VXLAN, programmed by a real
 *   `wgkex-agent run` child process (the bundle, on the system Node) that stays in the root
 *   namespace (its edge socket uses loopback) and runs its host commands in the gateway
 *   namespace (agent config `netns:`). batman-adv cannot exist on this kernel, so the agents
 *   run with `batman: { enabled: false }`: the batman-adv commands are asserted at the command
 *   boundary in the agent's own tests;
 * - nodes: namespaces that behave like the Gluon client (`ffmuc-mesh-vpn-wireguard-vxlan`);
 * - an underlay: one "hub" namespace with a bridge, every gateway and node joined to it by a
 *   veth pair, 10.213.0.0/16 (addresses exist inside our namespaces only).
 *
 * Plain Node TypeScript (type stripping, node: imports only) so the demo script can use it.
 * Every name carries `<prefix>-<pid>-<tag>`, so a run never touches another run's objects and
 * leftovers of a crashed run (dead pid) are removed at the next start.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const AGENT_BUNDLE = path.join(REPO_ROOT, ".wrangler", "e2e-agent", "wgkex-agent.mjs");
export const DOMAIN = "ffmuc_welt";
/** VNI of ffmuc_welt (wgkex-facts.md §2). */
export const VNI = 4831583;
export const GATEWAY_PORT = 40011;
export const TOKENS: Record<string, string> = { gw01: "e2e-token-gw01", gw02: "e2e-token-gw02" };
export const ADMIN_TOKEN = "e2e-admin-token";
export const GENERIC_400 = '{"error":{"message":"An internal error has occurred. Please try again later."}}\n';

// ---------------------------------------------------------------------------------------------
// Processes and commands

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(argv: readonly string[], input?: string): Result {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", input: input ?? "", maxBuffer: 256 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? String(r.error ?? "") };
}

/** Run and throw (with stderr) on failure. */
export function sh(argv: readonly string[], input?: string): string {
  const r = run(argv, input);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

export const inNs = (ns: string, argv: readonly string[], input?: string): string =>
  sh(["ip", "netns", "exec", ns, ...argv], input);
export const tryInNs = (ns: string, argv: readonly string[]): Result => run(["ip", "netns", "exec", ns, ...argv]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `check` returns a value other than undefined/false; the error names `what`. */
export async function until<T>(
  what: string | (() => string | Promise<string>),
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const text = typeof what === "string" ? what : await what();
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${text}${lastError ? ` (last error: ${(lastError as Error).message})` : ""}`,
      );
    }
    await sleep(intervalMs);
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Kill a process group we started (detached children lead their own group). */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // gone
  }
}

async function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    child.once("exit", () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** Command lines of a process's descendants (diagnostics). */
function descendants(pid: number | undefined): string[] {
  if (!pid) return [];
  const children = new Map<number, number[]>();
  for (const p of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const ppid = Number(readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(p)]);
    } catch {
      // gone
    }
  }
  const out: string[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      try {
        out.push(`${c}: ${readFileSync(`/proc/${c}/cmdline`, "utf8").replaceAll("\0", " ").trim()}`);
      } catch {
        // gone
      }
      walk(c);
    }
  };
  walk(pid);
  return out;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A Node that can run `edge/local/serve.ts` (type stripping, Node ≥ 22). */
function modernNode(): string {
  if (Number(process.versions.node.split(".")[0]) >= 22) return process.execPath;
  const local = path.join(REPO_ROOT, "node_modules", ".bin", "node");
  if (existsSync(local)) return local;
  throw new Error("the local edge needs Node >= 22: run through npm (node_modules/.bin/node)");
}

/** The gateways run Debian's Node (20): use the system one when there is one. */
export function systemNode(): string {
  return ["/usr/bin/node", "/usr/local/bin/node"].find((p) => existsSync(p)) ?? process.execPath;
}

// ---------------------------------------------------------------------------------------------
// Keys and addresses (independent of shared/: the suite checks the agent against these)

export function genKeyPair(): { privateKey: string; publicKey: string } {
  const privateKey = sh(["wg", "genkey"]).trim();
  return { privateKey, publicKey: sh(["wg", "pubkey"], `${privateKey}\n`).trim() };
}

export function randomKey(): string {
  return randomBytes(32).toString("base64");
}

/** wgkex link-local: md5(key + "\n"), fe80:: + 02 h0 h1 ff fe h2 h3 h4 (wgkex-facts.md §2). */
export function linkLocalOf(key: string): string {
  const h = createHash("md5").update(`${key}\n`).digest();
  const b = [0x02, h[0]!, h[1]!, 0xff, 0xfe, h[2]!, h[3]!, h[4]!];
  const groups = [0, 2, 4, 6].map((i) => ((b[i]! << 8) | b[i + 1]!).toString(16));
  return `fe80::${groups.join(":")}`;
}

// ---------------------------------------------------------------------------------------------
// Agent bundle

const newestIn = (dir: string): number => {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestIn(full) : statSync(full).mtimeMs);
  }
  return newest;
};

/** One ESM file for Node 20 (a gateway's Node), with the settings of `npm run build -w gateway-agent`. */
export async function bundleForNode(entry: string, outfile: string): Promise<void> {
  const { build } = await import("esbuild");
  mkdirSync(path.dirname(outfile), { recursive: true });
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    legalComments: "none",
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __wgkexCreateRequire } from 'node:module';\nconst require = __wgkexCreateRequire(import.meta.url);",
    },
    external: ["bufferutil", "utf-8-validate"],
    logLevel: "warning",
  });
}

/**
 * Bundle the agent CLI exactly like `npm run build -w gateway-agent`, but into our own file:
 * the agent's CLI test rebuilds gateway-agent/dist while other projects run, and a
 * half-written bundle must never be what a gateway starts.
 */
export async function ensureAgentBundle(): Promise<string> {
  const sources = Math.max(
    newestIn(path.join(REPO_ROOT, "gateway-agent", "src")),
    newestIn(path.join(REPO_ROOT, "shared", "src")),
  );
  if (existsSync(AGENT_BUNDLE) && statSync(AGENT_BUNDLE).mtimeMs >= sources) return AGENT_BUNDLE;
  const tmp = `${AGENT_BUNDLE}.${process.pid}.tmp`;
  await bundleForNode(path.join(REPO_ROOT, "gateway-agent", "src", "cli.ts"), tmp);
  execFileSync("mv", ["-f", tmp, AGENT_BUNDLE]);
  return AGENT_BUNDLE;
}

// ---------------------------------------------------------------------------------------------
// Prerequisites and leftovers

/** What this machine lacks for the world (empty when everything is there). */
export function missingTools(): Array<[ok: boolean, what: string]> {
  const has = (tool: string) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
  return [
    [process.getuid?.() === 0, "root (network namespaces)"],
    [existsSync("/dev/net/tun"), "/dev/net/tun (wireguard-go)"],
    [has("wireguard-go"), "wireguard-go (apt-get install -y --no-install-recommends wireguard-go)"],
    [has("wg"), "wg (apt-get install -y --no-install-recommends wireguard-tools)"],
    [has("ip") && has("bridge"), "ip and bridge (apt-get install -y iproute2)"],
    [has("ping"), "ping (apt-get install -y iputils-ping)"],
  ];
}

const NAME = /^([a-z]+)-(\d+)-([a-z0-9]+)/;

/**
 * Remove what a crashed earlier run with our prefix left behind: its processes (found by the
 * run's directory in their command line, killed by pid), namespaces and directories. Objects of
 * a run whose process is still alive are left alone.
 */
export function cleanLeftovers(prefix: string, log: (line: string) => void = () => {}): void {
  const dead = (name: string) => {
    const m = NAME.exec(name);
    return m !== null && m[1] === prefix && Number(m[2]) !== process.pid && !alive(Number(m[2]));
  };
  const dirs = readdirSync(tmpdir()).filter((d) => d.startsWith(`${prefix}-`) && dead(d));
  if (dirs.length > 0) {
    for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      let cmdline = "";
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      } catch {
        continue;
      }
      if (dirs.some((d) => cmdline.includes(path.join(tmpdir(), d)))) {
        log(`killing leftover process ${pid}`);
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // gone
        }
      }
    }
  }
  const namespaces = sh(["ip", "netns", "list"])
    .split("\n")
    .map((l) => l.split(" ")[0]!)
    .filter((n) => n.startsWith(`${prefix}-`) && dead(n));
  for (const ns of namespaces) {
    log(`removing leftover namespace ${ns}`);
    destroyNamespace(ns);
  }
  for (const d of dirs) rmSync(path.join(tmpdir(), d), { recursive: true, force: true });
  // Hosts files of nodes (addNode) whose namespace is already gone.
  if (existsSync("/etc/netns")) {
    for (const ns of readdirSync("/etc/netns").filter((n) => n.startsWith(`${prefix}-`) && dead(n))) {
      rmSync(path.join("/etc/netns", ns), { recursive: true, force: true });
    }
  }
}

export function destroyNamespace(ns: string): void {
  const pids = run(["ip", "netns", "pids", ns]).stdout.split("\n").filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // gone
    }
  }
  // wireguard-go leaves its UAPI socket behind when killed.
  for (const line of run(["ip", "-n", ns, "-o", "link", "show"]).stdout.split("\n")) {
    const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
    if (name?.startsWith("wg-")) rmSync(`/var/run/wireguard/${name}.sock`, { force: true });
  }
  run(["ip", "netns", "del", ns]);
  rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// The edge process

export interface EdgeOptions {
  /** WGKEX_CONFIG; default: ffmuc_welt with the world's gateways. */
  config?: unknown;
  /** Keep the per-address limiter of wrangler.toml (30/min); default: off. */
  nodeLimit?: boolean;
}

export class EdgeProcess {
  readonly port: number;
  readonly persistDir: string;
  readonly url: URL;
  readonly #args: string[];
  readonly #logFile: string;
  #child: ChildProcess | undefined;

  constructor(dir: string, port: number, config: unknown, nodeLimit: boolean, extraArgs: readonly string[] = []) {
    this.port = port;
    this.persistDir = path.join(dir, "edge-state");
    this.url = new URL(`http://127.0.0.1:${port}/`);
    this.#logFile = path.join(dir, "edge.log");
    const configFile = path.join(dir, "edge-config.json");
    const tokensFile = path.join(dir, "edge-tokens.json");
    writeFileSync(configFile, JSON.stringify(config));
    writeFileSync(tokensFile, JSON.stringify(TOKENS));
    this.#args = [
      path.join(REPO_ROOT, "edge", "local", "serve.ts"),
      "--port",
      String(port),
      "--persist",
      this.persistDir,
      "--config",
      configFile,
      "--tokens",
      tokensFile,
      "--admin-token",
      ADMIN_TOKEN,
      ...(nodeLimit ? [] : ["--no-node-limit"]),
      ...extraArgs,
    ];
  }

  async start(): Promise<void> {
    const log = openSync(this.#logFile, "a");
    const child = spawn(modernNode(), this.#args, {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ["ignore", "pipe", log],
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
    });
    closeSync(log);
    this.#child = child;
    await new Promise<void>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`edge did not start in 30 s: ${this.log()}`)), 30_000);
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes('"ready":true')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`edge exited (${code}) before it was ready: ${this.log()}`));
      });
    });
  }

  log(): string {
    return existsSync(this.#logFile) ? readFileSync(this.#logFile, "utf8").slice(-4000) : "";
  }

  /** kill -9 of the whole process group (node and workerd): a crash. */
  async crash(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child) return;
    killGroup(child.pid, "SIGKILL");
    await waitExit(child, 5000);
    // workerd is in the same group; make sure the port is free before a restart.
    await until("the edge's port to be free", async () => !(await portInUse(this.port)), 10_000, 50);
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child) return;
    killGroup(child.pid, "SIGTERM");
    if (!(await waitExit(child, 5000))) killGroup(child.pid, "SIGKILL");
    killGroup(child.pid, "SIGKILL"); // workerd, should it outlive its parent
  }

  async get(pathAndQuery: string): Promise<{ status: number; body: unknown }> {
    const r = await fetch(new URL(pathAndQuery, this.url));
    const text = await r.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: r.status, body };
  }

  /** The receipt of a key (GET /api/v1/wg/key/status). */
  async receipt(key: string, domain = DOMAIN): Promise<Receipt | undefined> {
    const r = await this.get(`/api/v1/wg/key/status?domain=${domain}&public_key=${encodeURIComponent(key)}`);
    return r.status === 200 ? (r.body as Receipt) : undefined;
  }

  async status(domain = DOMAIN): Promise<DomainStatus> {
    const r = await this.get("/api/v1/status");
    const all = r.body as { domains: DomainStatus[] };
    const d = all.domains.find((x) => x.domain === domain);
    if (!d) throw new Error(`no status for ${domain}: ${JSON.stringify(r.body).slice(0, 500)}`);
    return d;
  }
}

export interface Receipt {
  state: string;
  target: string;
  seq: number;
  origin: { type: "registration" } | { type: "adopted"; gateway: string; at: string };
  gateways: Array<{ name: string; state: string; at: string | null; reason: string | null }>;
}

export interface DomainStatus {
  domain: string;
  head: number;
  desired_peers: number;
  adopted_peers: number;
  gateways: Array<{
    name: string;
    online: boolean;
    lag: number;
    acked_seq: number;
    adopted: number;
    adoption_reports: Record<string, number>;
    endpoint: { address: string; port: number; public_key: string } | null;
  }>;
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(true));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(false)));
  });
}

// ---------------------------------------------------------------------------------------------
// Gateways

export interface AgentTuning {
  cleanup?: { interval_s: number; stale_after_s: number; grace_s: number };
  reports?: Partial<Record<"load_interval_s" | "live_interval_s" | "reconcile_interval_s", number>>;
}

export interface WgPeer {
  key: string;
  endpoint: string;
  allowedIps: string;
  latestHandshake: number;
}

export class Gateway {
  readonly name: string;
  readonly ns: string;
  readonly address: string;
  /** What v2 answers carry (a DNS name: FFMUC's client runs nslookup on it); nodes resolve it via /etc/netns. */
  readonly externalName: string;
  readonly wgIf: string;
  readonly vxIf: string;
  readonly privateKey: string;
  readonly publicKey: string;
  readonly ll: string;
  readonly configFile: string;
  readonly stateDir: string;
  readonly logFile: string;
  #child: ChildProcess | undefined;

  constructor(
    world: Pick<World, "id" | "tag" | "dir">,
    index: number,
    keys: { privateKey: string; publicKey: string },
  ) {
    this.name = `gw0${index}`;
    this.ns = `${world.id}-${this.name}`;
    this.address = `10.213.1.${index}`;
    this.externalName = `${this.name}.${world.tag}.e2e.invalid`;
    const suffix = `${world.tag}g${index}`;
    this.wgIf = `wg-${suffix}`;
    this.vxIf = `vx-${suffix}`;
    this.privateKey = keys.privateKey;
    this.publicKey = keys.publicKey;
    this.ll = linkLocalOf(keys.publicKey);
    this.configFile = path.join(world.dir, `${this.name}.yaml`);
    this.stateDir = path.join(world.dir, `${this.name}-state`);
    this.logFile = path.join(world.dir, `${this.name}.log`);
  }

  /**
   * The key and token files, and the configuration every e2e gateway shares (its name,
   * namespace, edge, userspace WireGuard); the caller adds tuning and domains.
   */
  protected commonConfig(world: Pick<World, "id" | "dir" | "edge">): { keyFile: string; head: string } {
    const keyFile = path.join(world.dir, `${this.name}.key`);
    const tokenFile = path.join(world.dir, `${this.name}.token`);
    writeFileSync(keyFile, `${this.privateKey}\n`, { mode: 0o600 });
    writeFileSync(tokenFile, `${TOKENS[this.name]}\n`, { mode: 0o600 });
    const head = `# ${this.name} of e2e world ${world.id}
gateway: ${this.name}
netns: ${this.ns}
edge: { url: "${world.edge.url.href}", token_file: ${tokenFile}, backoff_min_ms: 100, backoff_max_ms: 1000 }
external_address: "${this.externalName}"
domain_prefixes: [ffmuc_]
state_dir: ${this.stateDir}
log_level: info
metrics: { listen: null }
wireguard: { implementation: userspace, command: [wireguard-go, -f] }
`;
    return { keyFile, head };
  }

  writeConfig(world: World, tuning: AgentTuning): void {
    const { keyFile, head } = this.commonConfig(world);
    const statics = world.gateways
      .filter((g) => g !== this)
      .map((g) => `      - { name: ${g.name}, public_key: "${g.publicKey}" }`);
    const c = tuning.cleanup;
    const r = tuning.reports ?? {};
    writeFileSync(
      this.configFile,
      `${head}${c ? `cleanup: { interval_s: ${c.interval_s}, stale_after_s: ${c.stale_after_s}, grace_s: ${c.grace_s} }\n` : ""}${
        Object.keys(r).length > 0
          ? `reports: { ${Object.entries(r)
              .map(([k, v]) => `${k}: ${v}`)
              .join(", ")} }\n`
          : ""
      }domains:
  ${DOMAIN}:
    listen_port: ${GATEWAY_PORT}
    private_key_file: ${keyFile}
    vni: ${VNI}
    interface_suffix: ${this.wgIf.slice(3)}
    # batman-adv cannot be created on this kernel; its commands are tested at the command boundary.
    batman: { enabled: false }
    static_peers:${statics.length === 0 ? " []" : `\n${statics.join("\n")}`}
`,
    );
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** The agent's process id while it runs (a test can tell it was never restarted). */
  get pid(): number | undefined {
    return this.running ? this.#child?.pid : undefined;
  }

  /** Start `wgkex-agent run` and wait until its domain socket is welcomed by the edge. */
  async start(): Promise<void> {
    const before = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
    const log = openSync(this.logFile, "a");
    const child = spawn(systemNode(), [AGENT_BUNDLE, "run", "--config", this.configFile], {
      detached: true,
      stdio: ["ignore", log, log],
    });
    closeSync(log);
    this.#child = child;
    await until(
      () =>
        `${this.name}'s agent (pid ${child.pid}, ${child.exitCode === null ? "running" : `exited ${child.exitCode}`}) to be welcomed by the edge; its processes: ${descendants(child.pid).join(" | ") || "none"}; its log:\n${this.logTail()}`,
      () => {
        if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}`);
        return readFileSync(this.logFile, "utf8").slice(before).includes('"msg":"welcome"');
      },
      45_000,
      50,
    );
  }

  logTail(chars = 3000): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, "utf8").slice(-chars) : "(no log)";
  }

  /** kill -9 of the agent (wireguard-go is detached and survives, as under systemd KillMode=process). */
  async crash(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child) return;
    killGroup(child.pid, "SIGKILL");
    await waitExit(child, 5000);
  }

  /** SIGTERM: the agent finishes its batch, writes state and closes its sockets. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child) return;
    killGroup(child.pid, "SIGTERM");
    if (!(await waitExit(child, 15_000))) {
      killGroup(child.pid, "SIGKILL");
      throw new Error(`${this.name}'s agent did not stop on SIGTERM within 15 s`);
    }
  }

  /** A reboot: the agent and wireguard-go die, the interfaces are gone; the state dir stays. */
  async reboot(): Promise<void> {
    await this.crash();
    for (const pid of run(["ip", "netns", "pids", this.ns]).stdout.split("\n").filter(Boolean)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // gone
      }
    }
    await until(`${this.ns} to have no processes`, () => run(["ip", "netns", "pids", this.ns]).stdout.trim() === "");
    run(["ip", "-n", this.ns, "link", "del", this.vxIf]);
    run(["ip", "-n", this.ns, "link", "del", this.wgIf]);
    rmSync(`/var/run/wireguard/${this.wgIf}.sock`, { force: true });
  }

  peers(): Map<string, WgPeer> {
    const out = new Map<string, WgPeer>();
    const lines = inNs(this.ns, ["wg", "show", this.wgIf, "dump"]).trim().split("\n").slice(1);
    for (const line of lines) {
      const [key, , endpoint, allowedIps, hs] = line.split("\t");
      if (key) out.set(key, { key, endpoint: endpoint!, allowedIps: allowedIps!, latestHandshake: Number(hs) });
    }
    return out;
  }

  /** Destinations of the /128 routes on wg-… (one line each, duplicates kept). */
  routes(): string[] {
    const routes = JSON.parse(inNs(this.ns, ["ip", "-6", "-j", "route", "show", "dev", this.wgIf]) || "[]") as Array<{
      dst: string;
    }>;
    return routes.map((r) => r.dst).filter((d) => d.startsWith("fe80::") && !d.includes("/"));
  }

  /** Destinations of the all-zero FDB entries on vx-… (duplicates kept). */
  fdb(): string[] {
    const entries = JSON.parse(inNs(this.ns, ["bridge", "-j", "fdb", "show", "dev", this.vxIf]) || "[]") as Array<{
      mac: string;
      dst?: string;
    }>;
    return entries.filter((e) => e.mac === "00:00:00:00:00:00" && e.dst).map((e) => e.dst!);
  }

  /** Peer, route and FDB entry of a key: all three present? */
  has(key: string): boolean {
    const ll = linkLocalOf(key);
    const p = this.peers().get(key);
    return p?.allowedIps === `${ll}/128` && this.routes().includes(ll) && this.fdb().includes(ll);
  }

  /** What the gateway actually has, for failure messages. */
  describe(): string {
    const q = (argv: string[]) => {
      const r = tryInNs(this.ns, argv);
      return (r.stdout + r.stderr).trim().split("\n").slice(0, 40).join("\n");
    };
    return [
      `--- ${this.name} (${this.ns}): wg show ${this.wgIf} (first 40 lines)`,
      q(["wg", "show", this.wgIf]),
      `--- ip -6 route show dev ${this.wgIf}`,
      q(["ip", "-6", "route", "show", "dev", this.wgIf]),
      `--- bridge fdb show dev ${this.vxIf}`,
      q(["bridge", "fdb", "show", "dev", this.vxIf]),
      "--- agent log (tail)",
      this.logTail(1500),
    ].join("\n");
  }
}

// ---------------------------------------------------------------------------------------------
// Nodes: the Gluon client (wgkex-facts.md §5)

export interface V2Endpoint {
  Address: string;
  Port: string;
  PublicKey: string;
  AllowedIPs: string[];
}

export interface RegisterResult {
  status: number;
  text: string;
  headers: Headers;
}

export class Node {
  readonly name: string;
  readonly ns: string;
  readonly address: string;
  readonly wgIf: string;
  readonly vxIf: string;
  readonly privateKey: string;
  readonly publicKey: string;
  readonly ll: string;
  readonly #world: World;

  constructor(world: World, index: number) {
    this.#world = world;
    this.name = `node${index}`;
    this.ns = `${world.id}-n${index}`;
    this.address = `10.213.2.${index}`;
    this.wgIf = `wg-${world.tag}n${index}`;
    this.vxIf = `vx-${world.tag}n${index}`;
    const k = genKeyPair();
    this.privateKey = k.privateKey;
    this.publicKey = k.publicKey;
    this.ll = linkLocalOf(k.publicKey);
  }

  /** The firmware's POST: busybox wget's content type and exact body text, Gluon's headers. */
  register(version: 1 | 2, options: { domain?: string; clientAddress?: string } = {}): Promise<RegisterResult> {
    return post(this.#world.edge.url, version, options.domain ?? DOMAIN, this.publicKey, options.clientAddress);
  }

  /** v2 and parse the answer as the firmware does; throws with the answer when it cannot. */
  async registerV2(): Promise<V2Endpoint> {
    const r = await this.register(2);
    if (r.status !== 200) throw new Error(`v2 registration of ${this.name}: HTTP ${r.status} ${r.text}`);
    return (JSON.parse(r.text) as { Endpoint: V2Endpoint }).Endpoint;
  }

  /**
   * The tunnel: wireguard-go interface with the node's own link-local /64 (addrgenmode none),
   * peer = gateway key, keepalive 25, allowed-ips <gw ll>/128, endpoint Address:Port; then VXLAN
   * id <VNI> local <own ll> remote <gw ll> dstport 8472 dev <wg if>.
   */
  connect(endpoint: V2Endpoint, vni = VNI): void {
    const ns = this.ns;
    inNs(ns, ["wireguard-go", this.wgIf]); // forks into the background once the interface exists
    inNs(ns, ["ip", "link", "set", this.wgIf, "addrgenmode", "none"]);
    inNs(ns, ["ip", "-6", "addr", "flush", "dev", this.wgIf]);
    inNs(ns, ["ip", "-6", "addr", "add", `${this.ll}/64`, "dev", this.wgIf, "nodad"]);
    const keyFile = path.join(this.#world.dir, `${this.name}.key`);
    writeFileSync(keyFile, `${this.privateKey}\n`, { mode: 0o600 });
    inNs(ns, [
      "wg",
      "set",
      this.wgIf,
      "private-key",
      keyFile,
      "peer",
      endpoint.PublicKey,
      "persistent-keepalive",
      "25",
      "allowed-ips",
      `${endpoint.AllowedIPs[0]}/128`,
      "endpoint",
      `${endpoint.Address}:${endpoint.Port}`,
    ]);
    inNs(ns, ["ip", "link", "set", this.wgIf, "mtu", "1420", "up"]);
    inNs(ns, [
      "ip",
      "link",
      "add",
      this.vxIf,
      "type",
      "vxlan",
      "id",
      String(vni),
      "local",
      this.ll,
      "remote",
      endpoint.AllowedIPs[0]!,
      "dstport",
      "8472",
      "dev",
      this.wgIf,
    ]);
    inNs(ns, ["ip", "link", "set", this.vxIf, "up"]);
  }

  /** The router loses power: its WireGuard daemon and interfaces are gone. */
  disconnect(): void {
    for (const pid of run(["ip", "netns", "pids", this.ns]).stdout.split("\n").filter(Boolean)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // gone
      }
    }
    run(["ip", "-n", this.ns, "link", "del", this.vxIf]);
    run(["ip", "-n", this.ns, "link", "del", this.wgIf]);
    rmSync(`/var/run/wireguard/${this.wgIf}.sock`, { force: true });
  }

  /** Latest handshake with its gateway (unix seconds, 0 = never). */
  latestHandshake(): number {
    const line = inNs(this.ns, ["wg", "show", this.wgIf, "latest-handshakes"]).trim();
    return Number(line.split("\t")[1] ?? 0);
  }

  describe(): string {
    const q = (argv: string[]) => {
      const r = tryInNs(this.ns, argv);
      return (r.stdout + r.stderr).trim();
    };
    return [
      `--- ${this.name} (${this.ns}): wg show ${this.wgIf}`,
      q(["wg", "show", this.wgIf]),
      "--- ip addr",
      q(["ip", "-br", "addr"]),
    ].join("\n");
  }
}

/** POST /api/v<version>/wg/key/exchange exactly as busybox wget on a Gluon router does. */
export async function post(
  base: URL,
  version: 1 | 2,
  domain: string,
  key: string,
  clientAddress?: string,
): Promise<RegisterResult> {
  return postRaw(base, `/api/v${version}/wg/key/exchange`, `{"domain": "${domain}","public_key": "${key}"}`, {
    ...(clientAddress ? { "CF-Connecting-IP": clientAddress } : {}),
  });
}

export async function postRaw(
  base: URL,
  pathname: string,
  body: string,
  headers: Record<string, string> = {},
  method = "POST",
): Promise<RegisterResult> {
  const r = await fetch(new URL(pathname, base), {
    method,
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      "User-Agent":
        "gluon/v2023.2.5 (tp-link-tl-wdr3600-v1) OpenWrt/22.03 (kernel/5.10.221; ath79-generic) firmware/e2e",
      "X-Gluon-Version": "v2023.2.5",
      "X-Board-Name": "tp-link-tl-wdr3600-v1",
      ...headers,
    },
    ...(method === "GET" || method === "HEAD" ? {} : { body }),
  });
  return { status: r.status, text: await r.text(), headers: r.headers };
}

/** IPv6 ping from a namespace (`%dev` for link-local targets); true when a reply came back. */
export function ping(ns: string, target: string, tries = 1, waitS = 1): boolean {
  for (let i = 0; i < tries; i++) {
    if (tryInNs(ns, ["ping", "-6", "-n", "-c", "1", "-W", String(waitS), target]).code === 0) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// The world

export interface WorldOptions {
  /** Namespace/directory prefix: "wgxe" for the suite, "wgxd" for the demo. */
  prefix?: string;
  gateways?: number;
  edge?: EdgeOptions;
  agent?: AgentTuning;
  /** Start the agents (default true). */
  startAgents?: boolean;
  log?: (line: string) => void;
}

let worldCounter = 0;

export class World {
  readonly id: string;
  readonly tag: string;
  readonly dir: string;
  readonly hub: string;
  readonly gateways: Gateway[] = [];
  readonly nodes: Node[] = [];
  edge!: EdgeProcess;
  readonly #namespaces: string[] = [];
  readonly #log: (line: string) => void;

  private constructor(prefix: string, log: (line: string) => void) {
    worldCounter++;
    // 4 characters: unique per world of this run, short enough for 15-character interface names.
    this.tag = `${((process.pid % 1296) * 36 + (worldCounter % 36)).toString(36).padStart(3, "0")}${randomBytes(1)[0]! % 10}`;
    this.id = `${prefix}-${process.pid}-${this.tag}`;
    this.dir = path.join(tmpdir(), this.id);
    this.hub = `${this.id}-hub`;
    this.#log = log;
  }

  static async create(options: WorldOptions = {}): Promise<World> {
    const prefix = options.prefix ?? "wgxe";
    const log = options.log ?? (() => {});
    cleanLeftovers(prefix, log);
    await ensureAgentBundle();
    const world = new World(prefix, log);
    try {
      await world.#build(options);
    } catch (e) {
      await world.destroy();
      throw e;
    }
    return world;
  }

  async #build(options: WorldOptions): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    this.#netns(this.hub);
    inNs(this.hub, ["ip", "link", "add", "br0", "type", "bridge"]);
    inNs(this.hub, ["ip", "link", "set", "br0", "up"]);
    const count = options.gateways ?? 1;
    for (let i = 1; i <= count; i++) this.gateways.push(new Gateway(this, i, genKeyPair()));
    const edgeConfig = options.edge?.config ?? {
      domains: [DOMAIN, "ffmuc_muc_cty"],
      domain_prefixes: ["ffmuc_"],
      gateways: this.gateways.map((g) => ({ name: g.name })),
      status_cache_s: 0, // the world waits on the status: always fresh
    };
    this.edge = new EdgeProcess(this.dir, await freePort(), edgeConfig, options.edge?.nodeLimit ?? false);
    const edgeStarted = this.edge.start();
    for (const g of this.gateways) {
      this.#netns(g.ns);
      this.#underlay(g.ns, g.address);
      g.writeConfig(this, options.agent ?? {});
    }
    await edgeStarted;
    this.#log(`edge ${this.edge.url.href} (workerd, state in ${this.edge.persistDir})`);
    if (options.startAgents ?? true) {
      await Promise.all(this.gateways.map((g) => g.start()));
      await this.waitGatewaysOnline();
    }
  }

  /** Every running gateway is online at the edge with its interface data. */
  async waitGatewaysOnline(): Promise<void> {
    await until(
      "every running gateway to be online with its interface data at the edge",
      async () => {
        const s = await this.edge.status();
        return this.gateways
          .filter((g) => g.running)
          .every((g) => {
            const st = s.gateways.find((x) => x.name === g.name);
            return st?.online && st.endpoint !== null;
          });
      },
      30_000,
    );
  }

  #netns(ns: string): void {
    sh(["ip", "netns", "add", ns]);
    this.#namespaces.push(ns);
    inNs(ns, ["ip", "link", "set", "lo", "up"]);
  }

  #underlay(ns: string, address: string): void {
    const port = `p${this.#namespaces.length}`;
    sh(["ip", "link", "add", "u0", "netns", ns, "type", "veth", "peer", "name", port, "netns", this.hub]);
    inNs(this.hub, ["ip", "link", "set", port, "master", "br0", "up"]);
    inNs(ns, ["ip", "addr", "add", `${address}/16`, "dev", "u0"]);
    inNs(ns, ["ip", "link", "set", "u0", "up"]);
  }

  addNode(): Node {
    const node = new Node(this, this.nodes.length + 1);
    this.#netns(node.ns);
    this.#underlay(node.ns, node.address);
    // `ip netns exec` bind-mounts /etc/netns/<ns>/hosts over /etc/hosts: the node resolves the
    // gateways' external names (v2's Address) as a router resolves them in DNS.
    mkdirSync(`/etc/netns/${node.ns}`, { recursive: true });
    writeFileSync(
      `/etc/netns/${node.ns}/hosts`,
      `127.0.0.1 localhost\n${this.gateways.map((g) => `${g.address} ${g.externalName}`).join("\n")}\n`,
    );
    this.nodes.push(node);
    return node;
  }

  gateway(name: string): Gateway {
    const g = this.gateways.find((x) => x.name === name);
    if (!g) throw new Error(`no gateway ${name}`);
    return g;
  }

  /** Every running gateway has acknowledged everything the edge has for it. */
  async waitCaughtUp(timeoutMs = 60_000): Promise<void> {
    await until(
      async () =>
        `gateways to catch up: ${JSON.stringify((await this.edge.status().catch(() => undefined))?.gateways)}`,
      async () => {
        const s = await this.edge.status();
        return s.gateways.every((g) => g.online && g.lag === 0);
      },
      timeoutMs,
      100,
    );
  }

  /** What every gateway has, for failure messages. */
  describe(): string {
    return [...this.gateways.map((g) => g.describe()), ...this.nodes.map((n) => n.describe())].join("\n");
  }

  /** Stop everything we started and remove every namespace and file of this world. */
  async destroy(): Promise<void> {
    for (const g of this.gateways) await g.crash().catch(() => {});
    await this.edge?.stop().catch(() => {});
    for (const ns of [...this.#namespaces].reverse()) destroyNamespace(ns);
    if (process.env.E2E_KEEP_LOGS) {
      // E2E_KEEP_LOGS=1: the agents' and the edge's logs and configs go to .reports/e2e/<world id>/
      const keep = path.join(REPO_ROOT, ".reports", "e2e", this.id);
      mkdirSync(keep, { recursive: true });
      for (const f of readdirSync(this.dir).filter((f) => /\.(log|yaml|json)$/.test(f))) {
        writeFileSync(path.join(keep, f), readFileSync(path.join(this.dir, f)));
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
