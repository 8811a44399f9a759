import { afterEach } from "vitest";
import { type AgentOptions, memoryLogger, startAgent } from "../../src/index.ts";
import { FakeEdge, SimHost, testSetup } from "../../testing/index.ts";

const cleanups: Array<() => Promise<void> | void> = [];

/** Runs at the end of the current test, last registered first. */
export function defer(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

export async function startEdge(): Promise<FakeEdge> {
  const edge = await FakeEdge.start();
  defer(() => edge.close());
  return edge;
}

/**
 * The agent as a daemon would run it (`startAgent`), against a small edge over a real
 * WebSocket and a simulated host at the command boundary; no timers, so tests drive
 * maintenance by hand.
 */
export async function startTestAgent(
  options: {
    sim?: SimHost;
    dir?: string;
    edge?: FakeEdge;
    options?: AgentOptions;
    setup?: Parameters<typeof testSetup>[0];
  } = {},
) {
  const edge = options.edge ?? (await startEdge());
  const t = testSetup({ ...options.setup, edgeUrl: edge.url, ...(options.dir ? { dir: options.dir } : {}) });
  const sim = options.sim ?? new SimHost();
  const logger = memoryLogger();
  const agent = await startAgent(t.config, { runner: sim.runner, logger, timers: false, ...options.options });
  defer(() => agent.stop());
  return { edge, t, sim, agent, logger };
}

export const peersOf = (sim: SimHost) => [...sim.peers.keys()];
