import { createServer, type Server } from "node:http";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { CommandResult, CommandRunner, DaemonHandle, RunOptions, WatchHandle } from "./commands/runner.ts";
import type { RepairKind } from "./dataplane/reconcile.ts";

/** The agent's Prometheus metrics, in a registry of its own (several agents may share a process in tests). */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly peers = new Gauge({
    name: "wgkex_agent_peers",
    help: "WireGuard peers installed, per domain (static peers included)",
    labelNames: ["domain"],
    registers: [this.registry],
  });
  readonly connected = new Gauge({
    name: "wgkex_agent_connected_peers",
    help: "Node peers with a handshake in the last 3 minutes, per domain",
    labelNames: ["domain"],
    registers: [this.registry],
  });
  readonly applyLatency = new Histogram({
    name: "wgkex_agent_apply_latency_seconds",
    help: "Time from a registration frame's arrival to its installation",
    labelNames: ["domain"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: "wgkex_agent_batch_size",
    help: "Keys per installed batch",
    labelNames: ["domain"],
    buckets: [1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000, 50000],
    registers: [this.registry],
  });
  readonly commandFailures = new Counter({
    name: "wgkex_agent_command_failures_total",
    help: "Failed commands (benign 'exists'/'not found' excluded), by program",
    labelNames: ["command"],
    registers: [this.registry],
  });
  readonly spawns = new Counter({
    name: "wgkex_agent_spawns_total",
    help: "Processes spawned, by program",
    labelNames: ["command"],
    registers: [this.registry],
  });
  readonly edgeConnected = new Gauge({
    name: "wgkex_agent_edge_connected",
    help: "1 while the domain's socket to the edge is open and welcomed",
    labelNames: ["domain"],
    registers: [this.registry],
  });
  readonly replayLag = new Gauge({
    name: "wgkex_agent_replay_lag",
    help: "Edge head sequence number minus the last applied one",
    labelNames: ["domain"],
    registers: [this.registry],
  });
  readonly appliedSeq = new Gauge({
    name: "wgkex_agent_applied_seq",
    help: "Last sequence number installed",
    labelNames: ["domain"],
    registers: [this.registry],
  });
  readonly removed = new Counter({
    name: "wgkex_agent_stale_removed_total",
    help: "Peers removed by stale cleanup",
    labelNames: ["domain"],
    registers: [this.registry],
  });
  readonly foreignPeers = new Gauge({
    name: "wgkex_agent_foreign_peers",
    help: "Installed peers nobody asked for (not from the edge, not adopted, not static): kept, never removed by reconcile",
    labelNames: ["domain"],
    registers: [this.registry],
  });
  readonly verifiedKeys = new Counter({
    name: "wgkex_agent_verified_keys_total",
    help: "Keys the edge asked to verify (their nodes registered again), by result: ok, repaired (installed again), failed",
    labelNames: ["domain", "result"],
    registers: [this.registry],
  });
  readonly adoptedPeers = new Gauge({
    name: "wgkex_agent_adopted_peers",
    help: "Peers found on the interface and adopted (kept, desired, reported) that the edge has not sent back yet",
    labelNames: ["domain"],
    registers: [this.registry],
  });
  readonly adoptions = new Counter({
    name: "wgkex_agent_adopted_total",
    help: "Peers found on the interface without the edge knowing them, adopted and reported to the edge",
    labelNames: ["domain"],
    registers: [this.registry],
  });
  readonly reconcileRepairs = new Counter({
    name: "wgkex_agent_reconcile_repairs_total",
    help: "Routes, FDB entries and peers repaired or removed by reconcile",
    labelNames: ["domain", "kind"],
    registers: [this.registry],
  });
}

/** One domain's view of the agent's metrics: the `domain` label is set once, here. */
export class DomainMetrics {
  readonly #m: AgentMetrics;
  readonly #l: { domain: string };

  constructor(metrics: AgentMetrics, domain: string) {
    this.#m = metrics;
    this.#l = { domain };
  }

  peers(n: number): void {
    this.#m.peers.set(this.#l, n);
  }
  connected(n: number): void {
    this.#m.connected.set(this.#l, n);
  }
  applyLatency(seconds: number): void {
    this.#m.applyLatency.observe(this.#l, seconds);
  }
  batchSize(keys: number): void {
    this.#m.batchSize.observe(this.#l, keys);
  }
  edgeConnected(open: boolean): void {
    this.#m.edgeConnected.set(this.#l, open ? 1 : 0);
  }
  replayLag(n: number): void {
    this.#m.replayLag.set(this.#l, n);
  }
  appliedSeq(seq: number): void {
    this.#m.appliedSeq.set(this.#l, seq);
  }
  staleRemoved(n: number): void {
    this.#m.removed.inc(this.#l, n);
  }
  verified(outcome: { ok: number; repaired: readonly string[]; failed: readonly unknown[] }): void {
    this.#m.verifiedKeys.inc({ ...this.#l, result: "ok" }, outcome.ok);
    this.#m.verifiedKeys.inc({ ...this.#l, result: "repaired" }, outcome.repaired.length);
    this.#m.verifiedKeys.inc({ ...this.#l, result: "failed" }, outcome.failed.length);
  }
  foreign(n: number): void {
    this.#m.foreignPeers.set(this.#l, n);
  }
  /** `now` adopted in this pass; `awaiting` adopted keys the edge has not sent back yet. */
  adopted(now: number, awaiting: number): void {
    if (now > 0) this.#m.adoptions.inc(this.#l, now);
    this.#m.adoptedPeers.set(this.#l, awaiting);
  }
  repaired(kind: RepairKind, n: number): void {
    this.#m.reconcileRepairs.inc({ ...this.#l, kind }, n);
  }
  /** Not per domain: failures are counted by program. */
  commandFailed(command: string): void {
    this.#m.commandFailures.inc({ command });
  }
}

/** Wraps a runner so every spawn is counted in the metrics. */
export function meteredRunner(inner: CommandRunner, metrics: AgentMetrics): CommandRunner {
  return {
    get spawns() {
      return inner.spawns;
    },
    run(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
      metrics.spawns.inc({ command: argv[0] ?? "" });
      return inner.run(argv, options);
    },
    startDaemon(argv: readonly string[], options?: { logFile?: string }): Promise<DaemonHandle> {
      metrics.spawns.inc({ command: argv[0] ?? "" });
      return inner.startDaemon(argv, options);
    },
    ...(inner.watch
      ? {
          watch(argv: readonly string[], onLine: (line: string) => void): WatchHandle {
            metrics.spawns.inc({ command: argv[0] ?? "" });
            return inner.watch!(argv, onLine);
          },
        }
      : {}),
  };
}

/** Serve `/metrics` on "host:port". Resolves once listening. */
export async function serveMetrics(registry: Registry, listen: string): Promise<Server> {
  const i = listen.lastIndexOf(":");
  const host = listen.slice(0, i).replace(/^\[|\]$/g, "");
  const port = Number(listen.slice(i + 1));
  const server = createServer((req, res) => {
    if (req.url?.split("?")[0] !== "/metrics") {
      res.writeHead(404).end("not found\n");
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (e: unknown) => res.writeHead(500).end(String(e)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
