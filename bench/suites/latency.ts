/**
 * What the p99 tails are made of (issue 15, item 2): each request's exact latency, measured
 * by the uncorrected socket generator (lib/socket-load.ts), next to wrk's coordinated-
 * omission-corrected figure from the same server in the same repetition; then the same
 * servers in an open loop below saturation (500, 1,000 and 2,000 requests/s), the load a
 * broker meets in the field. Servers: the constant Worker, the Worker -> DO RPC floor, the
 * edge (v1, repeated keys of a 10,000-key set, two gateways acking and verifying; new keys
 * in the open loop), and the bare Node http server (does the generator itself pause?).
 * Diagnostic figures with in-run ratios; bench/README.md states the causes they show.
 */
import { DEFAULT_SERVING } from "../../edge/local/serve.ts";
import { BenchGateway } from "../lib/gateway.ts";
import { exchangeBody } from "../lib/keys.ts";
import { registerKeySet } from "../lib/load.ts";
import { measureWrk } from "../lib/measure.ts";
import { type BenchContext, type Row, type SuiteResult, type Target, target } from "../lib/report.ts";
import { type Served, startBenchEdge, startNodeHttp, startReferenceWorker } from "../lib/servers.ts";
import { runSocketLoad, type SocketLoadResult, STALL_MS } from "../lib/socket-load.ts";
import { median } from "../lib/stats.ts";
import { type WrkBody, wrkKey } from "../lib/wrk.ts";

const DOMAIN = "ffmuc_latency";
const V1 = "/api/v1/wg/key/exchange";
const KEY_SET = 10_000;
const CONNECTIONS = [16, 64] as const;
const RATES = [500, 1_000, 2_000] as const;

type Kind = "constant" | "rpc" | "edge" | "edge-new" | "rpc-bare" | "edge-bare" | "node-http";
const LABELS: Record<Kind, string> = {
  constant: "constant Worker",
  rpc: "Worker -> DO RPC floor",
  edge: "edge v1, repeated keys",
  "edge-new": "edge v1, new keys",
  "rpc-bare": "RPC floor, bare workerd",
  "edge-bare": "edge v1, repeated keys, bare workerd",
  "node-http": "bare Node http server",
};

interface Figure {
  exact: SocketLoadResult;
  /** wrk's p99 of the same server, same connections, same repetition (closed loop only). */
  wrkP99?: number;
}

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  const durationS = ctx.quick ? 2 : 3;
  const serving = DEFAULT_SERVING;
  const edge = await startBenchEdge([DOMAIN], ["gw01", "gw02"], { serving });
  const constant = await startReferenceWorker("constant", serving);
  const rpc = await startReferenceWorker("rpc", serving);
  // Bare `workerd serve` runs the workerd release wrangler ships (edge/local/workerd-process.ts),
  // the default path runs Miniflare 4's older one: both, to show what the release changes.
  const edgeBare = await startBenchEdge([DOMAIN], ["gw01", "gw02"], { serving: "workerd" });
  const rpcBare = await startReferenceWorker("rpc", "workerd");
  const node = await startNodeHttp();
  const gws: BenchGateway[] = [];
  for (const e of [edge, edgeBare]) {
    gws.push(
      await BenchGateway.connect(e.url, "gw01", DOMAIN, {}),
      await BenchGateway.connect(e.url, "gw02", DOMAIN, {}),
    );
  }
  const series = new Map<string, Figure[]>();
  const push = (key: string, f: Figure): void => void series.set(key, [...(series.get(key) ?? []), f]);
  const set = (i: number): string => exchangeBody(DOMAIN, wrkKey("lset", i % KEY_SET));
  const servers: Record<Exclude<Kind, "edge-new">, { served: Served; path: string }> = {
    constant: { served: constant, path: "/" },
    rpc: { served: rpc, path: "/" },
    edge: { served: edge, path: V1 },
    "rpc-bare": { served: rpcBare, path: "/" },
    "edge-bare": { served: edgeBare, path: V1 },
    "node-http": { served: node, path: "/" },
  };
  const measured = ["constant", "rpc", "edge", "rpc-bare", "edge-bare"] as const;
  try {
    for (const e of [edge, edgeBare]) await registerKeySet(e.url, DOMAIN, "lset", KEY_SET);
    // Warm-up (JIT, objects): not recorded.
    for (const { served, path } of Object.values(servers)) {
      await runSocketLoad({ url: served.url, path, body: set, durationS: 1, connections: 16 });
    }
    for (let r = 0; r < ctx.reps; r++) {
      ctx.log(`latency: repetition ${r + 1}/${ctx.reps}`);
      for (const c of CONNECTIONS) {
        for (const kind of measured) {
          const { served, path } = servers[kind];
          const exact = await runSocketLoad({
            url: served.url,
            path,
            body: set,
            durationS,
            connections: c,
            pid: served.pid,
          });
          const body: WrkBody = kind.startsWith("edge")
            ? { kind: "repeated", domain: DOMAIN, label: "lset", size: KEY_SET }
            : { kind: "fixed", body: set(0) };
          const wrk = await measureWrk(served, { path, threads: 2, connections: c, durationS, body, retries: 0 });
          push(`${kind}/closed/${c}`, { exact, wrkP99: wrk.p99 });
        }
      }
      const { served, path } = servers["node-http"];
      push("node-http/closed/16", {
        exact: await runSocketLoad({ url: served.url, path, body: set, durationS, connections: 16 }),
      });
      for (const rate of RATES) {
        for (const kind of measured) {
          const { served, path } = servers[kind];
          push(`${kind}/open/${rate}`, {
            exact: await runSocketLoad({ url: served.url, path, body: set, durationS, rate, pid: served.pid }),
          });
        }
      }
      const fresh = (i: number): string => exchangeBody(DOMAIN, wrkKey(`lnew${r}`, i));
      push("edge-new/open/1000", {
        exact: await runSocketLoad({ url: edge.url, path: V1, body: fresh, durationS, rate: 1_000, pid: edge.pid }),
      });
    }
  } finally {
    for (const g of gws) await g.close();
    await edge.stop();
    await edgeBare.stop();
    await constant.stop();
    await rpc.stop();
    await rpcBare.stop();
    await node.stop();
  }
  return report(series);
}

/** Stalls of every connection at once (the server paused) vs of single requests (others went on). */
function stallNote(runs: readonly Figure[], connections: number | undefined): string {
  const all = runs.flatMap((f) => f.exact.stalls);
  if (all.length === 0) return `no request over ${STALL_MS} ms`;
  const together = connections ? all.filter((s) => s.requests >= connections / 2).length : 0;
  const worst = Math.max(...all.map((s) => s.worstMs));
  return `${all.length} stalls over ${STALL_MS} ms in ${runs.length} runs${connections ? ` (${together} of half the connections or more at once, ${all.length - together} of fewer)` : ""}, worst ${worst.toFixed(0)} ms`;
}

function report(series: Map<string, Figure[]>): SuiteResult {
  const rows: Row[] = [];
  const targets: Target[] = [];
  const med = (runs: readonly Figure[], f: (x: Figure) => number): number => median(runs.map(f));
  for (const [key, runs] of series) {
    const [kind, loop, n] = key.split("/") as [Kind, "closed" | "open", string];
    const closed = loop === "closed";
    const wrkP99 = med(runs, (f) => f.wrkP99 ?? Number.NaN);
    const refs = (["constant", "rpc"] as const)
      .map((ref) => {
        const refKind = ref === "rpc" && kind === "edge-bare" ? "rpc-bare" : ref;
        const other = series.get(`${refKind}/${loop}/${n}`);
        if (!other || ref === kind || !kind.startsWith("edge")) return "";
        const ratios = runs.map((f, i) => f.exact.p99 / (other[i]?.exact.p99 ?? Number.NaN));
        return `p99 ${median(ratios).toFixed(1)}× ${ref === "constant" ? "constant's" : "RPC floor's"}`;
      })
      .filter(Boolean);
    const cpu = med(runs, (f) => f.exact.cpuMsPerReq);
    rows.push({
      suite: "latency",
      figure: `${LABELS[kind]}, ${closed ? `closed loop @${n}` : `open loop ${Number(n).toLocaleString("en-US")}/s`} (exact)`,
      value: med(runs, (f) => f.exact.rps),
      unit: "req/s",
      p50: med(runs, (f) => f.exact.p50),
      p99: med(runs, (f) => f.exact.p99),
      max: med(runs, (f) => f.exact.max),
      note: [
        `p99.9 ${med(runs, (f) => f.exact.p999).toFixed(1)} ms`,
        `p99/p50 ${med(runs, (f) => f.exact.p99 / f.exact.p50).toFixed(1)}`,
        Number.isFinite(wrkP99) ? `wrk's p99 ${wrkP99.toFixed(1)} ms` : "",
        ...refs,
        stallNote(runs, closed ? Number(n) : undefined),
        Number.isFinite(cpu) ? `cpu ${cpu.toFixed(3)} ms/req` : "",
        `non-200 ${runs.map((f) => f.exact.non200).join("/")}`,
      ]
        .filter(Boolean)
        .join(", "),
    });
  }
  // Every answer a 200 (a request left unanswered fails the run outright).
  const refused = [...series].flatMap(([key, runs]) => runs.filter((f) => f.exact.non200 > 0).map(() => key));
  targets.push(
    target("latency", "answers other than 200, every figure", refused.length, "==", 0, refused.join(", ") || undefined),
  );
  return { rows, targets, data: { series: Object.fromEntries(series) } };
}
