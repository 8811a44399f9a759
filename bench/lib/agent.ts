import { writeFileSync } from "node:fs";
import path from "node:path";
import type {
  CommandResult,
  CommandRunner,
  DaemonHandle,
  RunOptions,
} from "../../gateway-agent/src/commands/runner.ts";
import { parseConfig } from "../../gateway-agent/src/config/load.ts";
import type { AgentConfig } from "../../gateway-agent/src/config/schema.ts";
import { keyPairFor } from "./wgkeys.ts";

export interface BenchDomain {
  name: string;
  suffix: string;
  port: number;
  vni: number;
}

/** An agent configuration for the bench: files in `dir`, batman off (no module here). */
export function benchAgentConfig(options: {
  gateway: string;
  edgeUrl: string;
  token: string;
  dir: string;
  domains: BenchDomain[];
  userspace?: boolean;
}): AgentConfig {
  const { dir } = options;
  writeFileSync(path.join(dir, "token"), `${options.token}\n`, { mode: 0o600 });
  const domains = options.domains
    .map((d) => {
      const keyFile = path.join(dir, `${d.suffix}.key`);
      writeFileSync(keyFile, `${keyPairFor(`${options.gateway}/${d.name}`).privateKey}\n`, { mode: 0o600 });
      return `  ${d.name}:
    listen_port: ${d.port}
    private_key_file: ${keyFile}
    vni: ${d.vni}
    interface_suffix: ${d.suffix}
    batman: { enabled: false }`;
    })
    .join("\n");
  return parseConfig(`gateway: ${options.gateway}
edge: { url: "${options.edgeUrl}", token_file: ${dir}/token, backoff_min_ms: 50, backoff_max_ms: 1000 }
external_address: ${options.gateway}.bench.invalid
domain_prefixes: [ffmuc_]
state_dir: ${dir}/state
log_level: error
metrics: { listen: null }
${options.userspace === false ? "" : "wireguard: { implementation: userspace, command: [wireguard-go, -f] }"}
domains:
${domains}
`);
}

const ok = (stdout = ""): CommandResult => ({ code: 0, stdout, stderr: "" });
const fail = (stderr: string): CommandResult => ({ code: 1, stdout: "", stderr });

/**
 * The agent's command layer recording instead of spawning: answers the commands the agent
 * issues (wg, ip, bridge) from an in-memory host, keeps no call log (so it costs the agent
 * no memory per call), counts would-be spawns, and stamps when each key's install finished
 * (its FDB batch, the last of the three steps, ran).
 */
export class BenchHostRunner implements CommandRunner {
  spawns = 0;
  readonly links = new Map<string, { kind: string; data: Record<string, unknown> }>();
  /** wg interface -> key -> allowed ip */
  readonly peers = new Map<string, Map<string, string>>();
  readonly routes = new Map<string, Set<string>>();
  readonly fdb = new Map<string, Set<string>>();
  /** Keys whose `wg set` ran but whose FDB batch has not yet: wg interface -> keys. */
  private readonly pending = new Map<string, string[]>();
  /** key -> performance.now() when its install completed (first time), when stamping. */
  readonly installedAt = new Map<string, number>();
  stamp = false;

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    this.spawns++;
    return this.handle(argv, options.stdin);
  }

  async startDaemon(argv: readonly string[]): Promise<DaemonHandle> {
    this.spawns++;
    this.links.set(argv[argv.length - 1]!, { kind: "tun", data: {} });
    return { pid: undefined, exited: new Promise<number>(() => {}), kill() {} };
  }

  private handle(a: readonly string[], stdin: string | undefined): CommandResult {
    const j = a.join(" ");
    if (j.startsWith("ip -d -j link show dev ")) {
      const l = this.links.get(a[6]!);
      return l
        ? ok(JSON.stringify([{ linkinfo: { info_kind: l.kind, info_data: l.data } }]))
        : fail(`Device "${a[6]}" does not exist.`);
    }
    if (j.startsWith("ip link add dev ")) {
      const kind = a[6]!;
      this.links.set(a[4]!, {
        kind,
        data: kind === "vxlan" ? { id: Number(a[8]), local6: a[10], port: Number(a[12]), link: a[14] } : {},
      });
      return ok();
    }
    if (a[0] === "wg" && a[1] === "show") {
      if (!this.links.has(a[2]!)) return fail("Unable to access interface: No such device");
      if (a[3] === "public-key") return ok("x\n");
      const lines = ["priv\tpub\t40011\toff"];
      for (const [k, ll] of this.peers.get(a[2]!) ?? []) lines.push(`${k}\t(none)\t(none)\t${ll}\t0\t0\t0\toff`);
      return ok(`${lines.join("\n")}\n`);
    }
    if (a[0] === "wg" && a[1] === "set") {
      const dev = a[2]!;
      const table = this.peers.get(dev) ?? new Map<string, string>();
      this.peers.set(dev, table);
      const pending = this.pending.get(dev) ?? [];
      this.pending.set(dev, pending);
      for (let i = 3; i < a.length; ) {
        if (a[i] !== "peer") {
          i += 2;
          continue;
        }
        const key = a[i + 1]!;
        if (a[i + 2] === "remove") {
          table.delete(key);
          i += 3;
          continue;
        }
        i += 2;
        let allowed = "(none)";
        while (i < a.length && a[i] !== "peer") {
          if (a[i] === "allowed-ips") allowed = a[i + 1]!;
          i += 2;
        }
        table.set(key, allowed);
        if (this.stamp) pending.push(key);
      }
      return ok();
    }
    if (j === "ip -6 -force -batch -") {
      for (const line of (stdin ?? "").split("\n")) {
        if (!line) continue;
        const [, op, dst, , dev] = line.split(" ");
        const set = this.routes.get(dev!) ?? new Set<string>();
        this.routes.set(dev!, set);
        if (op === "replace") set.add(dst!.replace("/128", ""));
        else set.delete(dst!.replace("/128", ""));
      }
      return ok();
    }
    if (j.startsWith("ip -6 -j route show dev ")) {
      return ok(JSON.stringify([...(this.routes.get(a[6]!) ?? [])].map((dst) => ({ dst, metric: 1024 }))));
    }
    if (j === "bridge -force -batch -") {
      let wgDev: string | undefined;
      for (const line of (stdin ?? "").split("\n")) {
        if (!line) continue;
        const f = line.split(" ");
        const set = this.fdb.get(f[4]!) ?? new Set<string>();
        this.fdb.set(f[4]!, set);
        if (f[1] === "append") set.add(f[6]!);
        else set.delete(f[6]!);
        wgDev = f[8];
      }
      if (this.stamp && wgDev) {
        const now = performance.now();
        for (const key of this.pending.get(wgDev) ?? []) if (!this.installedAt.has(key)) this.installedAt.set(key, now);
        this.pending.set(wgDev, []);
      }
      return ok();
    }
    if (j.startsWith("bridge -j fdb show dev ")) {
      return ok(
        JSON.stringify(
          [...(this.fdb.get(a[5]!) ?? [])].map((dst) => ({
            mac: "00:00:00:00:00:00",
            dst,
            viaIf: a[5]!.replace(/^vx-/, "wg-"),
            state: "permanent",
          })),
        ),
      );
    }
    return ok();
  }
}
