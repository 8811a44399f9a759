/**
 * Part 6: a storm. N distinct nodes (50,000 = all of Freifunk) over 19 domains, served by
 * 4 gateways (4 real agents in this process, command layer recording instead of spawning),
 * re-registering (v1) at a fixed offered rate of 1,000/s (open loop: request i is due at
 * t0 + i ms, at most 512 in flight; latency counts from the due time, so queueing shows).
 * Per key: due time -> installed at all 4 gateways (their FDB batch ran). Zero lost: every
 * key answered 200 is installed on every gateway.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Agent, silentLogger, startAgent } from "@wgkex-edge/gateway-agent";
import { type BenchDomain, BenchHostRunner, benchAgentConfig } from "../lib/agent.ts";
import { BENCH_TOKENS } from "../lib/gateway.ts";
import { benchKey, exchangeBody } from "../lib/keys.ts";
import { runLoad } from "../lib/load.ts";
import { type BenchContext, type SuiteResult, target } from "../lib/report.ts";
import { startBenchEdge } from "../lib/servers.ts";
import { sleep, summarize, until } from "../lib/stats.ts";

const GATEWAYS = ["gw01", "gw02", "gw03", "gw04"];
const RATE = 1_000;
const MAX_IN_FLIGHT = 512;

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  const nodes = ctx.quick ? 10_000 : 50_000;
  const seconds = ctx.quick ? 15 : 60;
  const total = RATE * seconds;
  const domains: BenchDomain[] = Array.from({ length: 19 }, (_, i) => ({
    name: `ffmuc_s${String(i).padStart(2, "0")}`,
    suffix: `s${String(i).padStart(2, "0")}`,
    port: 40100 + i,
    vni: 1000 + i,
  }));
  const edge = await startBenchEdge(
    domains.map((d) => d.name),
    GATEWAYS,
  );
  const dirs: string[] = [];
  const agents: Agent[] = [];
  const runners: BenchHostRunner[] = [];
  try {
    for (const gw of GATEWAYS) {
      const dir = mkdtempSync(path.join(tmpdir(), `wgkex-bench-storm-${gw}-`));
      dirs.push(dir);
      const runner = new BenchHostRunner();
      runner.stamp = true;
      runners.push(runner);
      agents.push(
        await startAgent(
          benchAgentConfig({ gateway: gw, edgeUrl: edge.url.href, token: BENCH_TOKENS[gw]!, dir, domains }),
          { runner, logger: silentLogger, timers: false },
        ),
      );
    }
    await sleep(2_000); // 76 sockets welcomed, empty snapshots applied
    const due = new Float64Array(total);
    const status = new Int16Array(total);
    const t0 = performance.now() + 50;
    const load = await runLoad({
      base: edge.url,
      path: "/api/v1/wg/key/exchange",
      concurrency: MAX_IN_FLIGHT,
      maxRequests: total,
      body: (i) => exchangeBody(domains[(i % nodes) % 19]!.name, benchKey("storm", i % nodes)),
      pace: (i) => t0 + (i * 1000) / RATE,
      onAnswer: (i, st) => {
        status[i] = st;
      },
    });
    for (let i = 0; i < total; i++) due[i] = t0 + (i * 1000) / RATE;
    const sendMs = performance.now() - t0;
    // First registration of each node (the one that had to be installed).
    const okKeys = new Map<string, number>();
    for (let i = 0; i < total; i++) {
      if (status[i] !== 200) continue;
      const key = benchKey("storm", i % nodes);
      if (!okKeys.has(key)) okKeys.set(key, due[i]!);
    }
    const missing = (): number => {
      let n = 0;
      for (const key of okKeys.keys()) for (const r of runners) if (!r.installedAt.has(key)) n++;
      return n;
    };
    try {
      await until(() => missing() === 0, "storm installs", 60_000, 100);
    } catch {
      // reported below
    }
    const latencies: number[] = [];
    for (const [key, at] of okKeys) {
      let last = 0;
      for (const r of runners) last = Math.max(last, r.installedAt.get(key) ?? Number.NaN);
      if (Number.isFinite(last)) latencies.push(last - at);
    }
    const s = summarize(latencies);
    const lost = missing();
    const notOk = total - okKeys.size - Math.max(total - nodes, 0);
    ctx.log(
      `storm: ${total} requests in ${sendMs.toFixed(0)} ms (${load.rps.toFixed(0)}/s achieved), ${okKeys.size} distinct nodes ok, lost ${lost}, p50 ${s.p50.toFixed(0)} p99 ${s.p99.toFixed(0)} max ${s.max.toFixed(0)} ms`,
    );
    return {
      rows: [
        {
          suite: "storm",
          figure: `${nodes.toLocaleString("en")} nodes, 19 domains, 4 gateways, ${RATE}/s offered for ${seconds} s: due -> installed on all 4`,
          value: load.rps,
          unit: "req/s done",
          p50: s.p50,
          p99: s.p99,
          max: s.max,
          note: `${total} requests, statuses ${JSON.stringify(load.statuses)}; HTTP p99 ${load.p99.toFixed(0)} ms (from send); spawns avoided ${runners.reduce((n, r) => n + r.spawns, 0)}`,
        },
      ],
      targets: [
        target("storm", "lost (answered 200, not installed on all 4 gateways)", lost + Math.max(0, notOk), "==", 0),
        target("storm", "p99 due -> installed on all gateways, ms", s.p99, "<=", 2_000),
        target("storm", "offered rate sustained (achieved / offered)", load.rps / RATE, ">=", 0.95),
      ],
      data: { nodes, seconds, total, achievedRps: load.rps, latency: s, lost, statuses: load.statuses },
    };
  } finally {
    for (const a of agents) await a.stop().catch(() => {});
    await edge.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}
