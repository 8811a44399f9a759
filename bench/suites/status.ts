/**
 * The public status under load (issues 12 and 15): registrations (wrk, repeated keys of a
 * domain holding 30,000 keys; gw01 live and acking, gw02 configured but never connected, the
 * costliest lag to count) while N clients poll `/api/v1/status` and `/status` as fast as they
 * are answered. Registration p50/p99 with N pollers against the same figure without pollers,
 * in the same repetition; the pollers' own latency too.
 */
import { DEFAULT_SERVING } from "../../edge/local/serve.ts";
import { BenchGateway } from "../lib/gateway.ts";
import { exchangeBody } from "../lib/keys.ts";
import { type LoadResult, runLoad } from "../lib/load.ts";
import { measureWrk, type WrkMeasured } from "../lib/measure.ts";
import { type BenchContext, type Row, type SuiteResult, type Target, target } from "../lib/report.ts";
import { startBenchEdge } from "../lib/servers.ts";
import { median } from "../lib/stats.ts";
import { wrkKey } from "../lib/wrk.ts";
import { wrkRow } from "./edge.ts";

const DOMAIN = "ffmuc_status";
const KEYS = 30_000;
const POLLERS = [0, 2, 8, 32] as const;
const CONNECTIONS = 16;

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  const durationS = ctx.quick ? 2 : 5;
  const edge = await startBenchEdge([DOMAIN, "ffmuc_other"], ["gw01", "gw02"], { serving: DEFAULT_SERVING });
  const gws = [await BenchGateway.connect(edge.url, "gw01", DOMAIN, { track: false })];
  const series = new Map<number, WrkMeasured[]>();
  const polls = new Map<number, LoadResult[]>();
  const ratios = new Map<number, number[]>();
  const rpsRatios = new Map<number, number[]>();
  try {
    ctx.log(`status: registering ${KEYS} keys`);
    const reg = await runLoad({
      base: edge.url,
      path: "/api/v1/wg/key/exchange",
      concurrency: 64,
      maxRequests: KEYS,
      body: (i) => exchangeBody(DOMAIN, wrkKey("stset", i)),
    });
    if (reg.ok !== KEYS) throw new Error(`status: ${KEYS - reg.ok} of ${KEYS} registrations not 200`);
    for (let r = 0; r < ctx.reps; r++) {
      ctx.log(`status: repetition ${r + 1}/${ctx.reps}`);
      let base: WrkMeasured | undefined;
      for (const n of POLLERS) {
        // Pollers start first and stop after the registrations: the whole figure is under polling.
        const pollers =
          n === 0
            ? Promise.resolve(undefined)
            : Promise.all(
                ["/api/v1/status", "/status"].map((path, i) =>
                  runLoad({
                    base: edge.url,
                    path,
                    method: "GET",
                    concurrency: Math.max(1, n / 2 + (i === 0 ? n % 2 : 0)),
                    durationMs: durationS * 1000 + 500,
                  }),
                ),
              );
        const m = await measureWrk(edge, {
          path: "/api/v1/wg/key/exchange",
          threads: 2,
          connections: CONNECTIONS,
          durationS,
          body: { kind: "repeated", domain: DOMAIN, label: "stset", size: KEYS },
          retries: 0,
        });
        const polled = await pollers;
        series.set(n, [...(series.get(n) ?? []), m]);
        if (polled) {
          polls.set(n, [...(polls.get(n) ?? []), ...polled]);
          const bad = polled.reduce((k, p) => k + p.requests - p.ok + p.errors, 0);
          if (bad > 0) throw new Error(`status: ${bad} status polls failed with ${n} pollers`);
        }
        if (n === 0) base = m;
        else if (base) {
          ratios.set(n, [...(ratios.get(n) ?? []), m.p99 / base.p99]);
          rpsRatios.set(n, [...(rpsRatios.get(n) ?? []), m.rps / base.rps]);
        }
      }
    }
  } finally {
    for (const g of gws) await g.close();
    await edge.stop();
  }

  const rows: Row[] = [];
  const targets: Target[] = [];
  for (const [n, runs] of series) {
    const p = polls.get(n) ?? [];
    const extra =
      p.length > 0
        ? `status polls ${Math.round(median(p.map((x) => x.rps)) * 2)}/s, poll p50 ${median(p.map((x) => x.p50)).toFixed(1)} ms, p99 ${median(p.map((x) => x.p99)).toFixed(1)} ms`
        : "";
    rows.push(wrkRow("status", `registrations @${CONNECTIONS} (30,000 keys) with ${n} status pollers`, runs, extra));
    const ratio = ratios.get(n);
    const rpsRatio = rpsRatios.get(n);
    if (rpsRatio) {
      targets.push(
        target(
          "status",
          `registrations/s with ${n} pollers / without`,
          median(rpsRatio),
          ">=",
          0.5,
          `per run ${rpsRatio.map((x) => x.toFixed(2)).join(", ")}`,
        ),
      );
    }
    if (ratio) {
      targets.push(
        target(
          "status",
          `registration p99 with ${n} pollers / without`,
          median(ratio),
          "<=",
          2,
          `per run ${ratio.map((x) => x.toFixed(2)).join(", ")}`,
        ),
      );
    }
  }
  return {
    rows,
    targets,
    data: {
      series: Object.fromEntries(series),
      polls: Object.fromEntries([...polls].map(([n, p]) => [n, p.map(({ samples: _s, ...rest }) => rest)])),
    },
  };
}
