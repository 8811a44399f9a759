import { mkdirSync, readFileSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import { gatewaySocketPath } from "@wgkex-edge/shared";
import { type Clock, systemClock } from "./clock.ts";
import { ExecaRunner } from "./commands/execa-runner.ts";
import { netnsRunner } from "./commands/netns-runner.ts";
import type { CommandRunner } from "./commands/runner.ts";
import { socketUrl } from "./config/load.ts";
import type { AgentConfig } from "./config/schema.ts";
import { DomainRuntime, type RuntimeHooks } from "./domain/runtime.ts";
import { EdgeConnection } from "./edge/connection.ts";
import { HostEvents } from "./host-events.ts";
import { jsonLogger, type Logger } from "./log.ts";
import { AgentMetrics, meteredRunner, serveMetrics } from "./metrics.ts";

export const AGENT_VERSION = "0.1.0";

export interface AgentOptions {
  readonly runner?: CommandRunner;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Bearer token; read from edge.token_file when not given. */
  readonly token?: string;
  /** Serve /metrics (default: as configured; false disables). */
  readonly serveMetrics?: boolean;
  /** Connect to the edge (default true). */
  readonly connect?: boolean;
  /** Run periodic reconcile/cleanup/report timers (default true). */
  readonly timers?: boolean;
  /** Watch host events: links, deleted routes and FDB entries (default: as `timers`, and `reports.link_events`; never in a dry run). */
  readonly linkEvents?: boolean;
  readonly random?: () => number;
  readonly hooks?: RuntimeHooks;
  readonly dryRun?: boolean;
  readonly readFile?: (path: string) => string;
}

export interface Agent {
  readonly config: AgentConfig;
  readonly metrics: AgentMetrics;
  readonly runner: CommandRunner;
  readonly domains: ReadonlyMap<string, DomainRuntime>;
  /** Address the metrics server listens on, when it runs. */
  readonly metricsAddress: string | undefined;
  /** Run reconcile / cleanup / reports now on every domain (tests, CLI). */
  reconcile(): Promise<void>;
  cleanup(): Promise<void>;
  reportLoad(): Promise<void>;
  reportLive(): Promise<void>;
  /** Wait until every domain's work queue is empty. */
  idle(): Promise<void>;
  /** Graceful: finish batches in flight, write state, close sockets with 1000. */
  stop(): Promise<void>;
  /** Crash simulation: drop everything, write nothing. */
  kill(): void;
}

/**
 * Provision every domain, reconcile once, then connect one socket per domain to the edge
 * and keep the data plane in line with it.
 */
export async function startAgent(config: AgentConfig, options: AgentOptions = {}): Promise<Agent> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? jsonLogger({ level: config.log_level });
  const metrics = new AgentMetrics();
  // `netns`: host commands run inside the namespace, the edge socket and metrics stay here.
  const base = options.runner ?? new ExecaRunner();
  const runner = meteredRunner(config.netns ? netnsRunner(base, config.netns) : base, metrics);
  const domains = new Map<string, DomainRuntime>();
  const connections = new Map<string, EdgeConnection>();
  const timers: unknown[] = [];
  let server: Server | undefined;

  if (!options.dryRun) mkdirSync(config.state_dir, { recursive: true, mode: 0o700 });
  const totalConnected = () => [...domains.values()].reduce((n, d) => n + d.connected, 0);
  for (const domain of config.domains) {
    domains.set(
      domain.name,
      new DomainRuntime({
        config,
        domain,
        runner,
        clock,
        logger,
        metrics,
        agent: `wgkex-agent/${AGENT_VERSION}`,
        totalConnected,
        ...(options.hooks ? { hooks: options.hooks } : {}),
        ...(options.dryRun ? { dryRun: true } : {}),
        ...(options.readFile ? { readFile: options.readFile } : {}),
        daemonLog: join(config.state_dir, `wireguard-go-${domain.interfaces.wireguard}.log`),
      }),
    );
  }

  for (const d of domains.values()) {
    await d.provision();
    await d.reconcile();
  }

  if (options.serveMetrics ?? config.metrics.listen !== null) {
    if (config.metrics.listen) server = await serveMetrics(metrics.registry, config.metrics.listen);
  }

  if (options.connect ?? true) {
    const token = options.token ?? readFileSync(config.edge.token_file, "utf8").trim();
    for (const d of domains.values()) {
      const session = d.session;
      const conn = new EdgeConnection({
        url: socketUrl(config.edge.url, gatewaySocketPath(config.gateway, d.name)),
        token,
        clock,
        logger: logger.child({ domain: d.name }),
        pingIntervalMs: config.edge.ping_interval_s * 1000,
        backoff: { baseMs: config.edge.backoff_min_ms, maxMs: config.edge.backoff_max_ms },
        ...(options.random ? { random: options.random } : {}),
        hello: () => session.hello(),
        onFrame: (frame) => session.onFrame(frame),
        onBadFrame: (text, reason) => session.badFrame(text, reason),
        onState: (state) => session.transport(state),
      });
      session.attach(conn);
      connections.set(d.name, conn);
      conn.start();
    }
  }

  let monitor: HostEvents | undefined;
  if ((options.linkEvents ?? options.timers ?? true) && config.reports.link_events && !options.dryRun) {
    monitor = new HostEvents({
      runner,
      clock,
      logger,
      backoff: { baseMs: 1000, maxMs: 60_000 },
      onEvent: (name) => {
        for (const d of domains.values()) if (d.owns(name)) d.interfacesChanged();
      },
      onRestart: () => {
        for (const d of domains.values()) d.interfacesChanged();
      },
    });
    monitor.start();
  }

  if (options.timers ?? true) {
    const every = (seconds: number, name: string, fn: (d: DomainRuntime) => Promise<unknown>) => {
      timers.push(
        clock.setInterval(() => {
          for (const d of domains.values()) {
            if (d.fatal) continue;
            fn(d).catch((e: unknown) => logger.error(`${name} failed`, { domain: d.name, error: e as Error }));
          }
        }, seconds * 1000),
      );
    };
    every(config.reports.reconcile_interval_s, "reconcile", (d) => d.reconcile());
    every(config.cleanup.interval_s, "cleanup", (d) => d.cleanup());
    every(config.reports.load_interval_s, "load", (d) => d.reportLoad());
    every(config.reports.live_interval_s, "live", (d) => d.reportLive());
  }

  const forAll = async (fn: (d: DomainRuntime) => Promise<unknown>) => {
    await Promise.all([...domains.values()].map(fn));
  };
  const address = server?.address();
  return {
    config,
    metrics,
    runner,
    domains,
    metricsAddress: address && typeof address === "object" ? `${address.address}:${address.port}` : undefined,
    reconcile: () => forAll((d) => d.reconcile()),
    cleanup: () => forAll((d) => d.cleanup()),
    reportLoad: () => forAll((d) => d.reportLoad()),
    reportLive: () => forAll((d) => d.reportLive()),
    idle: async () => {
      await Promise.all([...domains.values()].map((d) => d.idle()));
    },
    async stop() {
      monitor?.stop();
      for (const t of timers) clock.clearInterval(t);
      await Promise.all([...domains.values()].map((d) => d.stop()));
      await Promise.all([...connections.values()].map((c) => c.stop()));
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      logger.info("agent stopped");
    },
    kill() {
      monitor?.stop();
      for (const t of timers) clock.clearInterval(t);
      for (const d of domains.values()) d.kill();
      for (const c of connections.values()) c.kill();
      server?.close();
    },
  };
}
