/**
 * Where the request path's CPU goes: the edge on bare `workerd serve` with its V8 inspector
 * on, sampled by the CPU profiler while wrk sends repeated keys, new keys and invalid
 * requests (v1, 16 connections). Prints each figure's top functions by own time. Sampling
 * shares hold under foreign load too (they are shares of this isolate's time).
 */
import { createServer } from "node:net";
import { BenchGateway } from "../lib/gateway.ts";
import { exchangeBody } from "../lib/keys.ts";
import { runLoad } from "../lib/load.ts";
import { measureWrk } from "../lib/measure.ts";
import { IsolateProfiler } from "../lib/profile.ts";
import type { BenchContext, Row, SuiteResult } from "../lib/report.ts";
import { startBenchEdge } from "../lib/servers.ts";
import { type WrkBody, wrkKey } from "../lib/wrk.ts";

const DOMAIN = "ffmuc_profile";
const KEY_SET = 10_000;
const TOP = 12;

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  const inspector = `127.0.0.1:${await freePort()}`;
  const edge = await startBenchEdge([DOMAIN], ["gw01", "gw02"], { serving: "workerd", inspector });
  const gws = [
    await BenchGateway.connect(edge.url, "gw01", DOMAIN, { track: false }),
    await BenchGateway.connect(edge.url, "gw02", DOMAIN, { track: false }),
  ];
  const rows: Row[] = [];
  const data: Record<string, unknown> = {};
  try {
    await runLoad({
      base: edge.url,
      path: "/api/v1/wg/key/exchange",
      concurrency: 64,
      maxRequests: KEY_SET,
      body: (i) => exchangeBody(DOMAIN, wrkKey("pset", i)),
    });
    const figures: Array<[string, WrkBody]> = [
      ["repeated keys", { kind: "repeated", domain: DOMAIN, label: "pset", size: KEY_SET }],
      ["new keys", { kind: "new", domain: DOMAIN, label: "pnew" }],
      ["invalid requests", { kind: "fixed", body: exchangeBody(DOMAIN, "not-a-key") }],
    ];
    for (const [name, body] of figures) {
      ctx.log(`profile: ${name}`);
      const profiler = await IsolateProfiler.connect(inspector);
      await profiler.start(100);
      const m = await measureWrk(edge, {
        path: "/api/v1/wg/key/exchange",
        threads: 1,
        connections: 16,
        durationS: ctx.quick ? 3 : 6,
        body,
        retries: 0,
      });
      const profile = await profiler.stop(TOP);
      profiler.close();
      data[name] = { measured: m, profile };
      rows.push({
        suite: "profile",
        figure: `edge v1, ${name} (bare workerd, inspector on)`,
        value: m.rps,
        unit: "req/s",
        p50: m.p50,
        p99: m.p99,
        max: m.max,
        note: `cpu ${m.cpuMsPerReq.toFixed(3)} ms/req, ${profile.samples} samples`,
      });
      for (const e of profile.entries) {
        rows.push({
          suite: "profile",
          figure: `  ${e.fn}`,
          value: e.self * 100,
          unit: "% self",
          note: `${(e.total * 100).toFixed(1)}% with callees`,
        });
      }
    }
  } finally {
    for (const g of gws) await g.close();
    await edge.stop();
  }
  return { rows, targets: [], data };
}
