/**
 * Part 2: registration -> `peers` frame at a connected gateway socket (a bench client that
 * acks every frame at once). Latency = POST sent -> frame carrying the key received, both
 * clocks in this process. 1,000 sequential POSTs; a burst of 5,000 with 256 in flight.
 */
import { BenchGateway } from "../lib/gateway.ts";
import { benchKey, exchangeBody } from "../lib/keys.ts";
import { runLoad } from "../lib/load.ts";
import { type BenchContext, type Row, type SuiteResult, type Target, target } from "../lib/report.ts";
import { startBenchEdge } from "../lib/servers.ts";
import { median, summarize, until } from "../lib/stats.ts";

const SEQUENTIAL = 1_000;
const BURST = 5_000;
const IN_FLIGHT = 256;

interface Run {
  answered200: number;
  received: number[];
  p50: number;
  p99: number;
  max: number;
  httpP99: number;
  /** Frame arrival minus HTTP answer arrival, p50 (negative: the frame came first). */
  afterAnswerP50: number;
}

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  const domain = "ffmuc_delivery";
  const edge = await startBenchEdge([domain, "ffmuc_warm"], ["gw01", "gw02"]);
  const gws = [
    await BenchGateway.connect(edge.url, "gw01", domain),
    await BenchGateway.connect(edge.url, "gw02", domain),
  ];
  const runs: Record<"sequential" | "burst", Run[]> = { sequential: [], burst: [] };
  try {
    await runLoad({
      base: edge.url,
      path: "/api/v1/wg/key/exchange",
      concurrency: 16,
      maxRequests: 1_000,
      body: (i) => exchangeBody("ffmuc_warm", benchKey("dwarm", i)),
    });
    const reps = ctx.quick ? Math.min(ctx.reps, 3) : ctx.reps;
    for (let r = 0; r < reps; r++) {
      for (const kind of ["sequential", "burst"] as const) {
        const n = kind === "sequential" ? SEQUENTIAL : BURST;
        const label = `d${kind}${r}`;
        const keys = Array.from({ length: n }, (_, i) => benchKey(label, i));
        const sentAt = new Float64Array(n);
        const answeredAt = new Float64Array(n);
        const ok: boolean[] = new Array(n).fill(false);
        const load = await runLoad({
          base: edge.url,
          path: "/api/v1/wg/key/exchange",
          concurrency: kind === "sequential" ? 1 : IN_FLIGHT,
          maxRequests: n,
          body: (i) => exchangeBody(domain, keys[i]!),
          onAnswer: (i, status, _body, sent) => {
            sentAt[i] = sent;
            answeredAt[i] = performance.now();
            ok[i] = status === 200;
          },
        });
        const answered200 = ok.filter(Boolean).length;
        const arrived = (g: BenchGateway): number => keys.filter((k, i) => ok[i] && g.received.has(k)).length;
        try {
          await until(() => gws.every((g) => arrived(g) === answered200), `frames for ${kind}`, 15_000, 20);
        } catch {
          // counted below
        }
        const latencies: number[] = [];
        const afterAnswer: number[] = [];
        for (const g of gws) {
          keys.forEach((k, i) => {
            const at = g.received.get(k);
            if (ok[i] && at !== undefined) {
              latencies.push(at - sentAt[i]!);
              afterAnswer.push(at - answeredAt[i]!);
            }
          });
        }
        const s = summarize(latencies);
        const run: Run = {
          answered200,
          received: gws.map(arrived),
          p50: s.p50,
          p99: s.p99,
          max: s.max,
          httpP99: load.p99,
          afterAnswerP50: summarize(afterAnswer).p50,
        };
        runs[kind].push(run);
        ctx.log(
          `delivery ${kind} rep ${r + 1}: ${answered200} ok, received ${run.received.join("/")}, p50 ${s.p50.toFixed(1)} p99 ${s.p99.toFixed(1)} max ${s.max.toFixed(1)} ms`,
        );
      }
    }
  } finally {
    for (const g of gws) await g.close();
    await edge.stop();
  }
  const rows: Row[] = [];
  const targets: Target[] = [];
  for (const kind of ["sequential", "burst"] as const) {
    const rs = runs[kind];
    const lost = rs.reduce((n, r) => n + r.received.reduce((m, x) => m + (r.answered200 - x), 0), 0);
    const p99 = median(rs.map((r) => r.p99));
    rows.push({
      suite: "delivery",
      figure:
        kind === "sequential"
          ? `registration -> frame, ${SEQUENTIAL} sequential POSTs`
          : `registration -> frame, burst of ${BURST} (${IN_FLIGHT} in flight)`,
      value: median(rs.map((r) => r.answered200)),
      unit: "answered 200",
      p50: median(rs.map((r) => r.p50)),
      p99,
      max: median(rs.map((r) => r.max)),
      note: `received per gateway ${rs.map((r) => r.received.join("/")).join(", ")}; HTTP p99 ${median(rs.map((r) => r.httpP99)).toFixed(1)} ms; frame - answer p50 ${median(rs.map((r) => r.afterAnswerP50)).toFixed(2)} ms`,
    });
    targets.push(
      target("delivery", `${kind}: p99 registration -> frame, ms`, p99, "<=", kind === "sequential" ? 50 : 250),
    );
    targets.push(
      target("delivery", `${kind}: lost (answered 200, never received), all runs, both gateways`, lost, "==", 0),
    );
  }
  return { rows, targets, data: runs };
}
