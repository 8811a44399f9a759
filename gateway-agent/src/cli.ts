import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  type AddressVariant,
  addressVariantSchema,
  DOMAIN_SEED_PATTERN,
  isPublicKey,
  linkLocal,
  vniFromDomainSeed,
} from "@wgkex-edge/shared";
import { AGENT_VERSION, type Agent, startAgent } from "./agent.ts";
import { checkHost, type HostProbe, realHost } from "./check.ts";
import { DryRunRunner } from "./commands/dry-run-runner.ts";
import { ExecaRunner } from "./commands/execa-runner.ts";
import { netnsRunner } from "./commands/netns-runner.ts";
import type { CommandRunner } from "./commands/runner.ts";
import { ConfigError, loadConfig } from "./config/load.ts";
import type { AgentConfig } from "./config/schema.ts";
import { describeChain, mtuChains, mtuTable } from "./dataplane/mtu.ts";
import { importWgkexCommand } from "./import/command.ts";
import { privateKeyAdvice } from "./keys.ts";
import { jsonLogger } from "./log.ts";
import { kernelCounts, statusTable } from "./status.ts";

/** Exit codes. */
export const EXIT = { ok: 0, failure: 1, usage: 2, config: 3 } as const;

export const HELP = `wgkex-agent ${AGENT_VERSION}: programs WireGuard, VXLAN and batman-adv from the wgkex-edge broker

Usage:
  wgkex-agent run     [--config FILE] [--dry-run]   provision, then follow the edge (daemon)
  wgkex-agent check   [--config FILE]               validate the configuration and the host, show the MTU chain
  wgkex-agent status  [--config FILE]               per-domain table: peers, connected, last sync, lag; MTUs
  wgkex-agent provision [--config FILE] [--dry-run] create/repair interfaces and reconcile once, then exit
  wgkex-agent derive  [--variant wgkex|gluon] [KEY…] print "<key> <link-local>" (keys from stdin when none)
  wgkex-agent vni     [--variant wgkex|gluon] SEED  print the VXLAN id of a Gluon domain_seed
  wgkex-agent import-wgkex WGKEX.YAML [--out-dir DIR] [--gateway NAME [--from-host]] [--edge-url URL] [--dry-run]
                      translate a wgkex.yaml into the edge's [vars.WGKEX_CONFIG] and agent
                      configuration skeletons (CHANGE-ME marks what wgkex.yaml cannot tell)

Options:
  -c, --config FILE   configuration (default /etc/wgkex-agent/config.yaml)
  -n, --dry-run       print the commands that would change the system instead of running them
      --variant V     address variant: wgkex (md5 of key + newline, default) or gluon
      --out-dir DIR   import-wgkex: where to write (default ./wgkex-import)
      --gateway NAME  import-wgkex: the gateway (worker) whose wgkex.yaml this is; only its skeleton
      --edge-url URL  import-wgkex: the edge's URL for the skeletons, e.g. https://broker.ffmuc.net
      --from-host     import-wgkex: read listen port, MTU, VNI and bridge from this gateway's interfaces
  -h, --help          this help
  -V, --version       print the version

Exit codes: 0 ok, 1 failure (check found problems, bad key, run failed), 2 usage, 3 configuration error.
`;

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<string>;
  host?: HostProbe;
  /** Resolves when the process should stop (SIGTERM/SIGINT). */
  waitForSignal?: () => Promise<string>;
  runner?: CommandRunner;
}

const defaultIO: CliIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  },
  waitForSignal: () =>
    new Promise((resolve) => {
      process.once("SIGTERM", () => resolve("SIGTERM"));
      process.once("SIGINT", () => resolve("SIGINT"));
    }),
};

export async function main(argv: readonly string[], io: CliIO = defaultIO): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    io.stderr(`wgkex-agent: ${(e as Error).message}\n\n${HELP}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (values.version) {
    io.stdout(`wgkex-agent ${AGENT_VERSION}\n`);
    return EXIT.ok;
  }
  if (values.help || command === "help") {
    io.stdout(HELP);
    return EXIT.ok;
  }
  if (!command) {
    io.stderr(HELP);
    return EXIT.usage;
  }
  const variantResult = addressVariantSchema.safeParse(values.variant ?? "wgkex");
  if (!variantResult.success) {
    io.stderr(`wgkex-agent: --variant must be "wgkex" or "gluon", not "${values.variant}"\n`);
    return EXIT.usage;
  }
  const variant = variantResult.data;
  const configPath = values.config ?? "/etc/wgkex-agent/config.yaml";

  switch (command) {
    case "derive":
      return derive(args, variant, io);
    case "vni": {
      const [seed, extra] = args;
      if (!seed || extra !== undefined) {
        io.stderr("wgkex-agent vni: give exactly one domain seed (64 hex characters)\n");
        return EXIT.usage;
      }
      if (!DOMAIN_SEED_PATTERN.test(seed)) {
        io.stderr(
          `wgkex-agent vni: "${seed}" is not a domain seed: need 64 hexadecimal characters (site.conf domain_seed)\n`,
        );
        return EXIT.failure;
      }
      io.stdout(`${vniFromDomainSeed(seed, variant)}\n`);
      return EXIT.ok;
    }
    case "import-wgkex": {
      const [file, extra] = args;
      if (!file || extra !== undefined) {
        io.stderr("wgkex-agent import-wgkex: give exactly one wgkex.yaml\n");
        return EXIT.usage;
      }
      return importWgkexCommand(
        file,
        {
          ...(values["out-dir"] !== undefined ? { outDir: values["out-dir"] } : {}),
          ...(values.gateway !== undefined ? { gateway: values.gateway } : {}),
          ...(values["edge-url"] !== undefined ? { edgeUrl: values["edge-url"] } : {}),
          dryRun: values["dry-run"] ?? false,
          fromHost: values["from-host"] ?? false,
        },
        { stdout: io.stdout, stderr: io.stderr, runner: () => io.runner ?? new ExecaRunner() },
      );
    }
    case "check":
    case "status":
    case "run":
    case "provision": {
      let config: AgentConfig;
      try {
        config = loadConfig(configPath);
      } catch (e) {
        io.stderr(`${e instanceof ConfigError ? e.message : String(e)}\n`);
        return EXIT.config;
      }
      if (command === "check") return check(config, configPath, io);
      if (command === "status") {
        const live = await kernelCounts(config, hostRunner(config, io));
        io.stdout(`${statusTable(config, Date.now(), live)}\n`);
        io.stdout(`\n${mtuTable(await mtuChains(config, hostRunner(config, io)))}\n`);
        return EXIT.ok;
      }
      return run(config, command === "provision", values["dry-run"] ?? false, io);
    }
    default:
      io.stderr(`wgkex-agent: unknown command "${command}"\n\n${HELP}`);
      return EXIT.usage;
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      "dry-run": { type: "boolean", short: "n" },
      variant: { type: "string" },
      "out-dir": { type: "string" },
      gateway: { type: "string" },
      "edge-url": { type: "string" },
      "from-host": { type: "boolean" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "V" },
    },
  });
}

async function derive(keys: string[], variant: AddressVariant, io: CliIO): Promise<number> {
  let lines: Array<{ key: string; where: string }>;
  if (keys.length > 0) lines = keys.map((key, i) => ({ key, where: `argument ${i + 1}` }));
  else {
    const text = await io.readStdin();
    lines = text
      .split("\n")
      .map((key, i) => ({ key: key.trim(), where: `line ${i + 1}` }))
      .filter((l) => l.key !== "");
  }
  let bad = 0;
  for (const { key, where } of lines) {
    if (!isPublicKey(key as unknown)) {
      bad++;
      io.stderr(
        `wgkex-agent derive: ${where}: "${key.slice(0, 60)}" is not a WireGuard public key (44 characters of canonical base64 ending in "=")\n`,
      );
      continue;
    }
    io.stdout(`${key} ${linkLocal(key, variant)}\n`);
  }
  return bad > 0 ? EXIT.failure : EXIT.ok;
}

/** Host commands as the agent runs them (inside `netns:` when configured). */
function hostRunner(config: AgentConfig, io: CliIO): CommandRunner {
  const base = io.runner ?? new ExecaRunner();
  return config.netns ? netnsRunner(base, config.netns) : base;
}

async function check(config: AgentConfig, path: string, io: CliIO): Promise<number> {
  io.stdout(`ok   configuration ${path}: gateway ${config.gateway}, ${config.domains.length} domain(s)\n`);
  const items = checkHost(config, io.host ?? realHost);
  for (const item of items) {
    io.stdout(item.ok ? `ok   ${item.what}\n` : `FAIL ${item.what}: ${item.detail}\n`);
  }
  // A trade-off, not a failure: `warn` does not change the exit code.
  for (const chain of await mtuChains(config, hostRunner(config, io))) {
    const { warn, text } = describeChain(chain);
    io.stdout(`${warn ? "warn" : "ok  "} ${text}\n`);
  }
  const failures = items.filter((i) => !i.ok).length;
  io.stdout(failures === 0 ? "all checks passed\n" : `${failures} problem(s) found\n`);
  return failures === 0 ? EXIT.ok : EXIT.failure;
}

/**
 * What a dry run cannot plan without: the private keys (the own public key and link-local
 * address, which the VXLAN and address commands contain, derive from them). The token is not
 * needed: a dry run never connects.
 */
export function missingForPlan(config: AgentConfig): string[] {
  const missing: string[] = [];
  for (const d of config.domains) {
    try {
      readFileSync(d.private_key_file, "utf8");
    } catch (e) {
      const reason = (e as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : (e as Error).message;
      missing.push(
        `domains.${d.name}.private_key_file ${d.private_key_file}: ${reason} (${privateKeyAdvice(d.private_key_file, d.interfaces.wireguard, undefined)})`,
      );
    }
  }
  return missing;
}

async function run(config: AgentConfig, once: boolean, dryRun: boolean, io: CliIO): Promise<number> {
  if (dryRun) {
    const missing = missingForPlan(config);
    if (missing.length > 0) {
      io.stderr(
        `wgkex-agent: a dry run needs each domain's private key to plan its addresses; missing:\n${missing.map((m) => `  - ${m}\n`).join("")}`,
      );
      return EXIT.failure;
    }
  }
  const logger = jsonLogger({ level: config.log_level, write: io.stderr });
  const real = io.runner ?? new ExecaRunner();
  const runner = dryRun ? new DryRunRunner((line) => io.stdout(`${line}\n`), real) : real;
  let agent: Agent;
  try {
    agent = await startAgent(config, {
      runner,
      logger,
      dryRun,
      connect: !once && !dryRun,
      timers: !once && !dryRun,
      serveMetrics: !once && !dryRun,
    });
  } catch (e) {
    logger.error("agent failed to start", { error: e as Error });
    return EXIT.failure;
  }
  if (once || dryRun) {
    await agent.idle();
    await agent.stop();
    return EXIT.ok;
  }
  const signal = await (io.waitForSignal ?? defaultIO.waitForSignal!)();
  logger.info("stopping", { signal });
  await agent.stop();
  return EXIT.ok;
}

// Entry point when run as a program (the bundle, or `node src/cli.ts`).
const entry = process.argv[1] ?? "";
if (/wgkex-agent(\.mjs)?$|cli\.ts$/.test(entry)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`wgkex-agent: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exit(EXIT.failure);
    },
  );
}
