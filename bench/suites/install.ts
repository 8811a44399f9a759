/**
 * Part 3: a burst of 10,000 registrations -> installed on a real gateway: the real agent
 * (ExecaRunner, every command inside a network namespace) programming wireguard-go, routes
 * and the VXLAN FDB. Time from the first POST to the last key installed (the agent's commit
 * of the batch holding the highest seq), verified afterwards with wg/ip/bridge.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ExecaRunner, netnsRunner, silentLogger, startAgent } from "@wgkex-edge/gateway-agent";
import { benchAgentConfig } from "../lib/agent.ts";
import { BENCH_TOKENS } from "../lib/gateway.ts";
import { benchKey, exchangeBody } from "../lib/keys.ts";
import { runLoad } from "../lib/load.ts";
import { createNamespace, destroyNamespace, installedCounts, netnsAvailable } from "../lib/netns.ts";
import { type BenchContext, type SuiteResult, target } from "../lib/report.ts";
import { startBenchEdge } from "../lib/servers.ts";
import { median, until } from "../lib/stats.ts";

const BURST = 10_000;
const IN_FLIGHT = 256;

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  const skip = netnsAvailable();
  if (skip) throw new Error(`install suite ${skip}`);
  const reps = ctx.quick ? 1 : Math.min(ctx.reps, 3);
  const runs: Array<{
    totalMs: number;
    postsMs: number;
    spawns: number;
    batches: number;
    counts: ReturnType<typeof installedCounts>;
    ok: number;
  }> = [];
  for (let r = 0; r < reps; r++) {
    const domain = "ffmuc_inst";
    const suffix = `bi${process.pid % 10000}`;
    const ns = `wgkb-${process.pid}-${r}`;
    const dir = mkdtempSync(path.join(tmpdir(), "wgkex-bench-agent-"));
    const edge = await startBenchEdge([domain], ["gw01"]);
    createNamespace(ns);
    const wgIf = `wg-${suffix}`;
    const vxIf = `vx-${suffix}`;
    try {
      const config = benchAgentConfig({
        gateway: "gw01",
        edgeUrl: edge.url.href,
        token: BENCH_TOKENS.gw01!,
        dir,
        domains: [{ name: domain, suffix, port: 40011, vni: 4831583 }],
      });
      const commits: Array<{ seq: number; at: number }> = [];
      const runner = netnsRunner(new ExecaRunner(), ns);
      const agent = await startAgent(config, {
        runner,
        logger: silentLogger,
        timers: false,
        hooks: { beforeStateWrite: (_d, seq) => void commits.push({ seq, at: performance.now() }) },
      });
      try {
        await until(() => commits.length > 0, "agent's first snapshot commit", 20_000);
        const spawns0 = runner.spawns;
        const commits0 = commits.length;
        const t0 = performance.now();
        const load = await runLoad({
          base: edge.url,
          path: "/api/v1/wg/key/exchange",
          concurrency: IN_FLIGHT,
          maxRequests: BURST,
          body: (i) => exchangeBody(domain, benchKey(`inst${r}`, i)),
        });
        const postsMs = performance.now() - t0;
        await until(() => (commits.at(-1)?.seq ?? 0) >= load.ok, `agent commit of seq ${load.ok}`, 120_000);
        const totalMs = commits.find((c) => c.seq >= load.ok)!.at - t0;
        await agent.idle();
        const counts = installedCounts(ns, wgIf, vxIf);
        const run = {
          totalMs,
          postsMs,
          spawns: runner.spawns - spawns0,
          batches: commits.length - commits0,
          counts,
          ok: load.ok,
        };
        runs.push(run);
        ctx.log(`install rep ${r + 1}: ${JSON.stringify(run)}`);
      } finally {
        await agent.stop();
      }
    } finally {
      destroyNamespace(ns, [wgIf]);
      await edge.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const total = median(runs.map((r) => r.totalMs));
  const last = runs.at(-1)!;
  return {
    rows: [
      {
        suite: "install",
        figure: `burst of ${BURST} (${IN_FLIGHT} in flight) -> installed on wireguard-go (netns)`,
        value: total,
        unit: "ms",
        note: `POSTs done after ${Math.round(median(runs.map((r) => r.postsMs)))} ms; ${median(runs.map((r) => r.spawns))} spawns in ${median(runs.map((r) => r.batches))} batches; installed peers/routes/fdb ${last.counts.peers}/${last.counts.routes}/${last.counts.fdb}`,
      },
    ],
    targets: [
      target("install", `${BURST} burst first POST -> last installed, ms`, total, "<=", 5_000),
      target(
        "install",
        "keys answered 200 but not installed (peer, route, FDB)",
        runs.reduce((n, r) => n + (r.ok - Math.min(r.counts.peers, r.counts.routes, r.counts.fdb)), 0),
        "==",
        0,
      ),
    ],
    data: { runs },
  };
}
