/**
 * Part 4: installing N keys on real wireguard-go interfaces (in a network namespace):
 * the agent's batched PeerProgrammer (a few `wg set` chunks, one `ip -batch`, one
 * `bridge -batch`) vs one command per key per step, the wgkex way (`wg set` peer,
 * `ip -6 route replace`, `bridge fdb append`). One-per-key beyond 1,000 keys is measured on
 * a sample of 1,000 keys added to an interface already holding N - 1,000 peers and
 * extrapolated linearly to N (stated in the row). Then: agent start (provision + reconcile)
 * with 10,000 peers already on the interfaces.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { commands, ExecaRunner, netnsRunner, silentLogger, startAgent } from "@wgkex-edge/gateway-agent";
import { linkLocal } from "@wgkex-edge/shared";
import { benchAgentConfig } from "../lib/agent.ts";
import { benchKey } from "../lib/keys.ts";
import { createNamespace, destroyNamespace, installedCounts, netnsAvailable } from "../lib/netns.ts";
import { type BenchContext, type Row, type SuiteResult, type Target, target } from "../lib/report.ts";

const SAMPLE = 1_000;
const { bridge, ip, wg } = commands;

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  const skip = netnsAvailable();
  if (skip) throw new Error(`batching suite ${skip}`);
  const sizes = ctx.quick ? [1_000, 10_000] : [1_000, 10_000, 50_000];
  const rows: Row[] = [];
  const targets: Target[] = [];
  const data: Record<string, unknown> = {};
  for (const n of sizes) {
    const ns = `wgkb-b${process.pid}-${n}`;
    const dir = mkdtempSync(path.join(tmpdir(), "wgkex-bench-batch-"));
    const sa = `ba${n % 100000}`;
    const sb = `bb${n % 100000}`;
    createNamespace(ns);
    try {
      const config = benchAgentConfig({
        gateway: "gw01",
        edgeUrl: "http://127.0.0.1:9",
        token: "x",
        dir,
        domains: [
          { name: "ffmuc_batch", suffix: sa, port: 40021, vni: 101 },
          { name: "ffmuc_single", suffix: sb, port: 40022, vni: 102 },
        ],
      });
      const runner = netnsRunner(new ExecaRunner(), ns);
      let agent = await startAgent(config, { runner, logger: silentLogger, connect: false, timers: false });
      await agent.idle();
      const keys = Array.from({ length: n }, (_, i) => benchKey(`batch${n}`, i));

      // Batched, through the agent's programmer.
      let s0 = runner.spawns;
      let t0 = performance.now();
      const result = await agent.domains.get("ffmuc_batch")!.programmer.install(keys);
      const batchedMs = performance.now() - t0;
      const batchedSpawns = runner.spawns - s0;
      const counts = installedCounts(ns, `wg-${sa}`, `vx-${sa}`);

      // One command per key per step: on the other domain, after pre-filling N - SAMPLE.
      const single = Array.from({ length: n }, (_, i) => benchKey(`single${n}`, i));
      const sample = Math.min(SAMPLE, n);
      if (n > sample) await agent.domains.get("ffmuc_single")!.programmer.install(single.slice(0, n - sample));
      s0 = runner.spawns;
      t0 = performance.now();
      const [wgB, vxB] = [`wg-${sb}`, `vx-${sb}`];
      for (const key of single.slice(n - sample)) {
        const ll = linkLocal(key, "wgkex");
        await runner.run(wg.setPeer(wgB, key, ll));
        await runner.run(ip.routeReplace(ll, wgB));
        await runner.run(bridge.fdbAppend(vxB, ll, wgB));
      }
      const sampleMs = performance.now() - t0;
      const singleSpawnsSample = runner.spawns - s0;
      const singleMs = (sampleMs / sample) * n;
      const singleSpawns = (singleSpawnsSample / sample) * n;
      const ratio = singleMs / batchedMs;
      const extrapolated = n > sample;
      rows.push({
        suite: "batching",
        figure: `install ${n.toLocaleString("en")} keys, batched (agent)`,
        value: batchedMs,
        unit: "ms",
        note: `${batchedSpawns} spawns; failed ${result.failed.length}; installed ${counts.peers}/${counts.routes}/${counts.fdb}`,
      });
      rows.push({
        suite: "batching",
        figure: `install ${n.toLocaleString("en")} keys, one command per key (wgkex way)`,
        value: singleMs,
        unit: "ms",
        note: extrapolated
          ? `EXTRAPOLATED from ${sample} keys measured on top of ${n - sample} (${sampleMs.toFixed(0)} ms, ${singleSpawnsSample} spawns); ~${Math.round(singleSpawns)} spawns`
          : `${singleSpawnsSample} spawns, measured`,
      });
      rows.push({
        suite: "batching",
        figure: `speed-up batched vs one-per-key at ${n.toLocaleString("en")}`,
        value: ratio,
        unit: "x",
      });
      if (n === 10_000)
        targets.push(
          target(
            "batching",
            "batched vs one-per-key at 10,000 keys (x faster)",
            ratio,
            ">=",
            20,
            extrapolated ? "one-per-key extrapolated from a 1,000-key sample" : undefined,
          ),
        );
      data[n] = { batchedMs, batchedSpawns, sampleMs, sample, singleSpawnsSample, singleMs, ratio, counts };
      ctx.log(`batching ${n}: ${JSON.stringify(data[n])}`);

      if (n === 10_000) {
        // Agent restart with 10,000 (+ the single domain's) peers installed: provision + reconcile.
        agent.kill();
        s0 = runner.spawns;
        t0 = performance.now();
        agent = await startAgent(config, { runner, logger: silentLogger, connect: false, timers: false });
        await agent.idle();
        const startMs = performance.now() - t0;
        rows.push({
          suite: "batching",
          figure: "agent start + reconcile, 2 domains with 10,000 peers each",
          value: startMs,
          unit: "ms",
          note: `${runner.spawns - s0} spawns`,
        });
        data.reconcileStart = { startMs, spawns: runner.spawns - s0 };
      }
      agent.kill();
    } finally {
      destroyNamespace(ns, [`wg-${sa}`, `wg-${sb}`]);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { rows, targets, data };
}
