import { writeFileSync } from "node:fs";
import path from "node:path";
import {
  type AgentConfig,
  type CommandResult,
  type CommandRunner,
  type DaemonHandle,
  parseConfig,
  type RunOptions,
} from "@wgkex-edge/gateway-agent";
import { type SimHost, SimHostRunner } from "@wgkex-edge/gateway-agent/testing";
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

/**
 * The agent's command layer recording instead of spawning: the agent tests' simulated host
 * (no call log, so it costs no memory per call), plus a stamp of when each key's install
 * finished (its FDB batch, the last of the three steps, ran).
 */
export class BenchHostRunner implements CommandRunner {
  readonly #inner = new SimHostRunner();
  readonly host: SimHost = this.#inner.host;
  /** Keys whose `wg set` ran but whose FDB batch has not yet: wg interface -> keys. */
  readonly #pending = new Map<string, string[]>();
  /** key -> performance.now() when its install completed (first time), when stamping. */
  readonly installedAt = new Map<string, number>();
  stamp = false;

  get spawns(): number {
    return this.#inner.spawns;
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const result = await this.#inner.run(argv, options);
    if (this.stamp && result.code === 0) this.#track(argv, options.stdin);
    return result;
  }

  startDaemon(argv: readonly string[]): Promise<DaemonHandle> {
    return this.#inner.startDaemon(argv);
  }

  #track(argv: readonly string[], stdin: string | undefined): void {
    if (argv[0] === "wg" && argv[1] === "set") {
      const pending = this.#pending.get(argv[2]!) ?? [];
      this.#pending.set(argv[2]!, pending);
      for (let i = 3; i < argv.length; i++)
        if (argv[i] === "peer" && argv[i + 2] !== "remove") pending.push(argv[i + 1]!);
    } else if (argv.join(" ") === "bridge -force -batch -") {
      // "fdb append 00:…:00 dev vx-… dst <ll> via wg-…": the last field names the wg interface.
      const wgDev = (stdin ?? "").split("\n").find(Boolean)?.split(" ")[8];
      if (wgDev === undefined) return;
      const now = performance.now();
      for (const key of this.#pending.get(wgDev) ?? []) if (!this.installedAt.has(key)) this.installedAt.set(key, now);
      this.#pending.set(wgDev, []);
    }
  }
}
