/**
 * Part 1: the edge's node API in local workerd (rate limits off), loaded by wrk (an
 * independent C generator, several threads, keep-alive), against reference ceilings served
 * the same way in the same run: a constant Worker, a Worker -> DO -> one SQLite upsert, and
 * a bare Node http server. Every figure has p50/p99/max and wrk's socket errors; the
 * comparisons are ratios taken within each repetition (see bench/README.md).
 */
import { DEFAULT_SERVING } from "../../edge/local/serve.ts";
import { checkDelivery } from "../lib/delivery-check.ts";
import { BenchGateway } from "../lib/gateway.ts";
import { exchangeBody } from "../lib/keys.ts";
import { runLoad } from "../lib/load.ts";
import { measureWrk, type WrkMeasured } from "../lib/measure.ts";
import { type BenchContext, type Row, type SuiteResult, type Target, target } from "../lib/report.ts";
import { type Served, startBenchEdge, startNodeHttp, startReferenceWorker } from "../lib/servers.ts";
import { median, sleep } from "../lib/stats.ts";
import { sentNewKeys, type WrkBody, wrkKey } from "../lib/wrk.ts";

const CONNECTIONS = [1, 16, 64] as const;
/** wrk threads (fewer when there are fewer connections). */
export const WRK_THREADS = 2;
const KEY_SET = 10_000;
const BAD_KEY = "not-a-key";
const V1 = "/api/v1/wg/key/exchange";

type Series = Map<string, WrkMeasured[]>;

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  const durationS = ctx.quick ? 2 : 5;
  const reps = ctx.reps;
  const serving = DEFAULT_SERVING;
  const domains = ["ffmuc_warm"];
  for (const v of [1, 2]) for (let r = 0; r < reps; r++) domains.push(`ffmuc_v${v}r${r}`);
  const edge = await startBenchEdge(domains, ["gw01", "gw02"], { serving });
  const constant = await startReferenceWorker("constant", serving);
  const rpc = await startReferenceWorker("rpc", serving);
  const upsert = await startReferenceWorker("upsert", serving);
  const node = await startNodeHttp();
  ctx.log(
    `edge ${edge.url.href} (${serving}, workerd pid ${edge.pid}), constant pid ${constant.pid}, upsert pid ${upsert.pid}, node pid ${node.pid}`,
  );
  const series: Series = new Map();
  const push = (key: string, m: WrkMeasured): void => {
    series.set(key, [...(series.get(key) ?? []), m]);
  };
  const ratios = new Map<string, number[]>();
  const ratio = (name: string, v: number): void => {
    ratios.set(name, [...(ratios.get(name) ?? []), v]);
  };
  const checks: string[] = [];
  const wrk = (c: number, path: string, body: WrkBody, label?: (attempt: number) => WrkBody) => ({
    path,
    threads: Math.min(WRK_THREADS, c),
    connections: c,
    durationS,
    body,
    ...(label ? { beforeRetry: (attempt: number) => ({ ...wrk(c, path, label(attempt)) }) } : {}),
  });
  const fixed: WrkBody = { kind: "fixed", body: exchangeBody("ffmuc_x", wrkKey("fixed", 0)) };

  try {
    // Warm-up (JIT, DO instantiation, SQLite files): not recorded.
    const warm = { ...wrk(16, "/", fixed), durationS: 1, retries: 0 };
    await measureWrk(constant, warm);
    await measureWrk(rpc, warm);
    await measureWrk(upsert, { ...warm, body: { kind: "new", domain: "ffmuc_warm", label: "warmu" } });
    await measureWrk(node, warm);
    await measureWrk(edge, { ...warm, path: V1, body: { kind: "new", domain: "ffmuc_warm", label: "warme" } });

    for (let r = 0; r < reps; r++) {
      ctx.log(`edge: repetition ${r + 1}/${reps}`);
      const rep = new Map<string, WrkMeasured>();
      const take = async (key: string, server: Served, options: ReturnType<typeof wrk>) => {
        const m = await measureWrk(server, options);
        push(key, m);
        rep.set(key, m);
        return m;
      };
      for (const c of CONNECTIONS) {
        await take(`constant/${c}`, constant, wrk(c, "/", fixed));
        await take(`rpc/${c}`, rpc, wrk(c, "/", fixed));
        const label = (a: number): WrkBody => ({ kind: "new", domain: "ffmuc_x", label: `u${r}c${c}a${a}` });
        await take(`upsert/${c}`, upsert, wrk(c, "/", label(0), label));
        await take(`node-http/${c}`, node, wrk(c, "/", fixed));
      }

      for (const v of [1, 2] as const) {
        const domain = `ffmuc_v${v}r${r}`;
        const path = `/api/v${v}/wg/key/exchange`;
        const gws = [
          await BenchGateway.connect(edge.url, "gw01", domain, { v2: v === 2 }),
          await BenchGateway.connect(edge.url, "gw02", domain, { v2: v === 2 }),
        ];
        await sleep(50); // interface/load frames processed before v2 asks for a choice
        // The repeated set, registered by the Node generator (exact per-request answers).
        const setLabel = `s${v}r${r}`;
        const reg = await runLoad({
          base: edge.url,
          path,
          concurrency: 64,
          maxRequests: KEY_SET,
          body: (i) => exchangeBody(domain, wrkKey(setLabel, i)),
        });
        if (reg.ok !== KEY_SET) checks.push(`v${v} rep ${r}: key set ${KEY_SET - reg.ok} not 200`);
        const sent: string[] = Array.from({ length: KEY_SET }, (_, i) => wrkKey(setLabel, i));
        let answered = reg.ok;

        for (const c of CONNECTIONS) {
          const label = (a: number): WrkBody => ({ kind: "new", domain, label: `n${v}r${r}c${c}a${a}` });
          const m = await take(`edge-v${v}-new/${c}`, edge, wrk(c, path, label(0), label));
          if (m.non2xx > 0) checks.push(`v${v} new c=${c}: ${m.non2xx} of ${m.requests} not 200`);
          for (const run of m.runs) {
            if (run.body.kind === "new") sent.push(...sentNewKeys(run.body.label, run.sentPerThread));
          }
          answered += m.requests - m.non2xx;
        }
        for (const c of CONNECTIONS) {
          const body: WrkBody = { kind: "repeated", domain, label: setLabel, size: KEY_SET };
          const m = await take(`edge-v${v}-repeated/${c}`, edge, wrk(c, path, body));
          if (m.non2xx > 0) checks.push(`v${v} repeated c=${c}: ${m.non2xx} of ${m.requests} not 200`);
        }
        if (v === 1) {
          for (const c of [16, 64]) {
            await take(`edge-invalid/${c}`, edge, wrk(c, path, { kind: "fixed", body: exchangeBody(domain, BAD_KEY) }));
          }
        }
        checks.push(
          ...(await checkDelivery({ edge: edge.url, domain, gateways: gws, sent, answered, allGateways: v === 1 })),
        );
        for (const g of gws) await g.close();
      }

      const rps = (key: string): number => rep.get(key)!.rps;
      for (const c of [16, 64]) {
        for (const v of [1, 2]) {
          ratio(`v${v} repeated / constant @${c}`, rps(`edge-v${v}-repeated/${c}`) / rps(`constant/${c}`));
          ratio(`v${v} repeated / rpc floor @${c}`, rps(`edge-v${v}-repeated/${c}`) / rps(`rpc/${c}`));
          ratio(`v${v} new / upsert @${c}`, rps(`edge-v${v}-new/${c}`) / rps(`upsert/${c}`));
        }
        // The Worker -> DO hop's own tail (nothing of ours on it): what repeated keys are judged against.
        for (const v of [1, 2])
          ratio(
            `p99 edge-v${v}-repeated/${c} / rpc floor`,
            rep.get(`edge-v${v}-repeated/${c}`)!.p99 / rep.get(`rpc/${c}`)!.p99,
          );
        for (const key of [...rep.keys()].filter((k) => k.startsWith("edge-") && k.endsWith(`/${c}`))) {
          const m = rep.get(key)!;
          const ref = rep.get(`constant/${c}`)!;
          ratio(`p99 ${key} / constant`, m.p99 / ref.p99);
          ratio(`socket errors ${key} - constant`, m.socketErrors - ref.socketErrors);
          ratio(`p99 / p50 ${key}`, m.p99 / m.p50);
          ratio(`socket errors ${key}`, m.socketErrors);
        }
      }
      for (const c of [16, 64]) ratio(`rpc floor / constant @${c}`, rps(`rpc/${c}`) / rps(`constant/${c}`));
      for (const v of [1, 2]) {
        for (const kind of ["new", "repeated"]) {
          ratio(`v${v} ${kind} 64 / 16`, rps(`edge-v${v}-${kind}/64`) / rps(`edge-v${v}-${kind}/16`));
        }
      }
    }
  } finally {
    await edge.stop();
    await constant.stop();
    await rpc.stop();
    await upsert.stop();
    await node.stop();
  }
  return report(series, ratios, checks, serving);
}

const LABELS: Record<string, string> = {
  constant: "reference: constant Worker (workerd)",
  rpc: "reference: Worker -> DO RPC, no work (workerd)",
  upsert: "reference: Worker -> DO -> 1 upsert (workerd)",
  "node-http": "reference: bare Node http server",
  "edge-v1-new": "edge v1, new keys",
  "edge-v1-repeated": "edge v1, repeated keys (10,000-key set)",
  "edge-v2-new": "edge v2, new keys",
  "edge-v2-repeated": "edge v2, repeated keys (10,000-key set)",
  "edge-invalid": "edge, invalid requests (400)",
};

/** Median of each field over repetitions, as a table row. */
export function wrkRow(suite: string, figure: string, runs: readonly WrkMeasured[], extra = ""): Row {
  const med = (f: (m: WrkMeasured) => number): number => median(runs.map(f));
  const errors = runs.map((m) => m.socketErrors);
  const cpu = med((m) => m.cpuMsPerReq);
  return {
    suite,
    figure,
    value: med((m) => m.rps),
    unit: "req/s",
    p50: med((m) => m.p50),
    p99: med((m) => m.p99),
    max: med((m) => m.max),
    note: [
      `errors ${errors.join("/")}`,
      `cpu ${Number.isFinite(cpu) ? cpu.toFixed(3) : "?"} ms/req`,
      extra,
      `foreign ${med((m) => m.foreignCores).toFixed(2)} cores`,
    ]
      .filter(Boolean)
      .join(", "),
  };
}

function report(series: Series, ratios: Map<string, number[]>, checks: string[], serving: string): SuiteResult {
  const rows: Row[] = [];
  for (const [key, runs] of series) {
    const [name, c] = key.split("/");
    const p99x = ratios.get(`p99 ${key} / constant`);
    const extra = p99x ? `p99 ${median(p99x).toFixed(1)}× constant's` : "";
    rows.push(wrkRow("edge", `${LABELS[name!] ?? name} @${c}`, runs, extra));
  }
  const targets: Target[] = [];
  const per = (values: number[]): string => `per run ${values.map((x) => x.toFixed(2)).join(", ")}`;
  for (const [name, values] of ratios) {
    const m = median(values);
    if (name.includes("repeated / constant")) {
      const floor = ratios.get(`rpc floor / constant @${name.split("@")[1]}`) ?? [];
      const note = `${per(values)}; Worker -> DO RPC floor / constant ${median(floor).toFixed(2)}`;
      targets.push(target("edge", name, m, ">=", 0.7, note));
    } else if (name.includes("repeated / rpc floor")) targets.push(target("edge", name, m, ">=", 0.8, per(values)));
    else if (name.includes("new / upsert")) targets.push(target("edge", name, m, ">=", 1.3, per(values)));
    else if (name.includes("64 / 16")) targets.push(target("edge", name, m, ">=", 0.95, per(values)));
    else if (name.startsWith("p99 edge")) targets.push(target("edge", name, m, "<=", 2, `wrk's p99; ${per(values)}`));
    else if (name.startsWith("socket errors") && name.endsWith("- constant")) {
      targets.push(target("edge", name, Math.max(...values), "<=", 0, `worst run; ${per(values)}`));
    } else if (name.startsWith("socket errors") && serving !== "miniflare") {
      targets.push(target("edge", name, Math.max(...values), "==", 0, `${serving} serving; worst run`));
    } else if (name.startsWith("p99 / p50") && serving !== "miniflare") {
      targets.push(target("edge", name, m, "<=", 5, `${serving} serving; ${per(values)}`));
    }
  }
  targets.push(
    target(
      "edge",
      "lost or non-200 registrations (checks failed)",
      checks.length,
      "==",
      0,
      checks.join("; ") || undefined,
    ),
  );
  const summary = Object.fromEntries([...series].map(([key, runs]) => [key, wrkRow("edge", key, runs)]));
  return {
    rows,
    targets,
    data: { serving, series: Object.fromEntries(series), summary, ratios: Object.fromEntries(ratios), checks },
  };
}
