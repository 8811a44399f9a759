import { afterEach, describe, expect, it } from "vitest";
import { memoryLogger, parseConfig, startAgent } from "../src/index.ts";
import { FakeEdge, publicKeys, SimHost, testSetup } from "../testing/index.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("metrics endpoint", () => {
  it("serves peers, connected, latency, batch sizes, failures, spawns, edge state and lag", async () => {
    const edge = await FakeEdge.start();
    cleanups.push(() => edge.close());
    const t = testSetup({ edgeUrl: edge.url });
    const config = parseConfig(t.yaml.replace("metrics: { listen: null }", 'metrics: { listen: "127.0.0.1:0" }'));
    const sim = new SimHost();
    const bad = publicKeys(1, 50)[0]!;
    sim.failKeys.add(bad);
    const agent = await startAgent(config, { runner: sim.runner, logger: memoryLogger(), timers: false });
    cleanups.push(() => agent.stop());
    await edge.until(() => edge.acks().length === 1);
    edge.publish([...publicKeys(10, 51).map((key) => ({ key })), { key: bad }]);
    await edge.until(() => edge.acks().some((a) => a.seq === 11));
    await agent.reportLoad();
    const res = await fetch(`http://${agent.metricsAddress}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^wgkex_agent_peers\{domain="ffmuc_welt"\} 11$/m);
    expect(text).toMatch(/^wgkex_agent_connected_peers\{domain="ffmuc_welt"\} 0$/m);
    expect(text).toMatch(/^wgkex_agent_apply_latency_seconds_count\{domain="ffmuc_welt"\} [1-9]/m);
    expect(text).toMatch(/^wgkex_agent_batch_size_sum\{domain="ffmuc_welt"\} 11$/m);
    expect(text).toMatch(/^wgkex_agent_command_failures_total\{command="wg"\} 2$/m);
    expect(text).toMatch(/^wgkex_agent_spawns_total\{command="wg"\} \d+$/m);
    expect(text).toMatch(/^wgkex_agent_edge_connected\{domain="ffmuc_welt"\} 1$/m);
    expect(text).toMatch(/^wgkex_agent_replay_lag\{domain="ffmuc_welt"\} 0$/m);
    expect((await fetch(`http://${agent.metricsAddress}/other`)).status).toBe(404);
  });
});
