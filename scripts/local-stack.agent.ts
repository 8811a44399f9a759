/**
 * The gateway agent of `npm start`: `wgkex-agent run --dry-run`, but staying connected to the
 * edge. Every command that would change the host is printed to stdout (the stack sends it to
 * .wrangler/local-stack/agent-commands.log) instead of being run; read-only queries see an
 * empty host, so nothing here needs root, WireGuard, wireguard-go or even `ip`.
 *
 * Run by scripts/local-stack.ts as a child process with an IPC channel:
 *   node scripts/local-stack.agent.ts <agent.yaml>
 * Sends {metrics: "host:port"} once connected; stops cleanly on SIGINT/SIGTERM and dies with
 * its parent (IPC disconnect).
 */
import {
  type CommandResult,
  type CommandRunner,
  DryRunRunner,
  jsonLogger,
  loadConfig,
  startAgent,
} from "@wgkex-edge/gateway-agent";

/** Answers read-only queries as a host where nothing exists yet (and wireguard-go comes up at once). */
const emptyHost: CommandRunner = {
  spawns: 0,
  async run(argv: readonly string[]): Promise<CommandResult> {
    const [tool, ...rest] = argv;
    if (tool === "ip" && rest.includes("link")) return { code: 1, stdout: "", stderr: "Device does not exist." };
    if (tool === "wg") return { code: 0, stdout: "", stderr: "" };
    return { code: 0, stdout: argv.includes("-j") ? "[]" : "", stderr: "" };
  },
  async startDaemon() {
    throw new Error("the empty host starts no daemons");
  },
};

const configPath = process.argv[2];
if (!configPath) {
  process.stderr.write("usage: node scripts/local-stack.agent.ts <agent.yaml>\n");
  process.exit(2);
}
const config = loadConfig(configPath);
const logger = jsonLogger({ level: config.log_level });
const runner = new DryRunRunner((line) => process.stdout.write(`${line}\n`), emptyHost);
const agent = await startAgent(config, {
  runner,
  logger,
  dryRun: true,
  connect: true,
  timers: true,
  serveMetrics: true,
});
process.send?.({ metrics: agent.metricsAddress ?? null });

let stopping = false;
const stop = async (why: string) => {
  if (stopping) return;
  stopping = true;
  logger.info("stopping", { signal: why });
  await agent.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("disconnect", () => {
  // The stack is gone (killed): do not linger.
  agent.kill();
  process.exit(0);
});
