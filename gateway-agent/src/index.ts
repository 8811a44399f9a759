/** Programmatic API of the gateway agent (integration and end-to-end tests use it). */
export { AGENT_VERSION, type Agent, type AgentOptions, startAgent } from "./agent.ts";
export { type CheckItem, checkHost, type HostProbe, realHost } from "./check.ts";
export { type Clock, systemClock } from "./clock.ts";
export * as commands from "./commands/builders.ts";
export { DryRunRunner } from "./commands/dry-run-runner.ts";
export { ExecaRunner } from "./commands/execa-runner.ts";
export { netnsRunner } from "./commands/netns-runner.ts";
export { type RecordedCall, RecordingRunner } from "./commands/recording-runner.ts";
export {
  CommandError,
  type CommandResult,
  type CommandRunner,
  type DaemonHandle,
  formatArgv,
  type RunOptions,
} from "./commands/runner.ts";
export { ConfigError, loadConfig, parseConfig, socketUrl } from "./config/load.ts";
export type { AgentConfig, DomainConfig, StaticPeer } from "./config/schema.ts";
export { configSchema } from "./config/schema.ts";
export { planBatch, planSnapshot } from "./dataplane/changes.ts";
export { decideStale, recentPeers } from "./dataplane/cleanup.ts";
export { parseFdb, parseRoutes, parseWgDump } from "./dataplane/observe.ts";
export { PeerProgrammer, planPeers } from "./dataplane/peers.ts";
export { provisionDomain } from "./dataplane/provision.ts";
export { linkLocalLayout, type PeerLayout, planReconcile, type ReconcilePlan } from "./dataplane/reconcile.ts";
export type { DesiredOrigin, DesiredPeers } from "./domain/desired-peers.ts";
export type { MaintenanceJob, MaintenanceReport } from "./domain/maintenance.ts";
export type { ApplyOutcome, RuntimeHooks } from "./domain/peer-applier.ts";
export { DomainRuntime } from "./domain/runtime.ts";
export { backoffDelay } from "./edge/backoff.ts";
export { EdgeConnection } from "./edge/connection.ts";
export { EdgeSession } from "./edge/session.ts";
export { publicKeyFromPrivate } from "./keys.ts";
export { jsonLogger, type Logger, memoryLogger, silentLogger } from "./log.ts";
export { AgentMetrics } from "./metrics.ts";
export { readState, writeState } from "./state.ts";
