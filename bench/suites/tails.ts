/**
 * Where the p99 tails of local workerd come from (issue 15, item 2): the same constant
 * Worker and the same edge (v1, repeated keys) under wrk, served three ways (Miniflare's
 * entry worker, Miniflare with the Worker's own socket, bare `workerd serve`), with one and
 * two wrk threads, at 16 and 64 connections, and a constant Worker that leaves the body
 * unread; then, on the default path: workerd and wrk pinned to different cores, the Node
 * generator instead of wrk, the first request after the object sat idle (hibernation), and
 * new keys with and without gateways to fan out to (frames and acks). Diagnostic figures,
 * no targets of their own: bench/README.md states the causes they show.
 */
import { spawnSync } from "node:child_process";
import { DEFAULT_SERVING, type Serving } from "../../edge/local/serve.ts";
import { BenchGateway } from "../lib/gateway.ts";
import { exchangeBody } from "../lib/keys.ts";
import { registerKeySet, runLoad } from "../lib/load.ts";
import { measureWrk, type WrkMeasured } from "../lib/measure.ts";
import { cpuMsOf, foreignLoadMeter } from "../lib/proc.ts";
import type { BenchContext, Row, SuiteResult } from "../lib/report.ts";
import { type Served, startBenchEdge, startReferenceWorker } from "../lib/servers.ts";
import { median, sleep } from "../lib/stats.ts";
import { type WrkBody, wrkKey } from "../lib/wrk.ts";
import { wrkRow } from "./edge.ts";

const SERVINGS: readonly Serving[] = ["miniflare", "direct", "workerd"];
const THREADS = [1, 2] as const;
const CONNECTIONS = [16, 64] as const;
const KEY_SET = 10_000;
const DOMAIN = "ffmuc_tails";
const V1 = "/api/v1/wg/key/exchange";
/** Idle time before the wake-up figure (workerd evicts an idle object after about 10 s). */
const IDLE_MS = 15_000;

/** Pin every thread of a process to `cpus` (taskset). */
function pin(pid: number, cpus: string): void {
  const r = spawnSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`taskset failed: ${r.stderr}`);
}

/** The bench's own Node generator (one http.Agent), measured like a wrk figure. */
async function measureNode(server: Served, path: string, c: number, durationS: number, body: (i: number) => string) {
  const cpu0 = server.pid ? cpuMsOf(server.pid) : Number.NaN;
  const foreign = foreignLoadMeter();
  const r = await runLoad({ base: server.url, path, concurrency: c, durationMs: durationS * 1000, body });
  return {
    rps: r.rps,
    p50: r.p50,
    p99: r.p99,
    max: r.max,
    requests: r.requests,
    socketErrors: r.errors,
    errors: { connect: 0, read: r.errors, write: 0, timeout: 0 },
    non2xx: r.requests - r.ok,
    cpuMsPerReq: ((server.pid ? cpuMsOf(server.pid) : Number.NaN) - cpu0) / r.requests,
    foreignCores: foreign(),
    clientCores: Number.NaN,
    runs: [],
  } satisfies WrkMeasured;
}

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  const durationS = ctx.quick ? 2 : 4;
  const series = new Map<string, WrkMeasured[]>();
  const share = new Map<string, number[]>();
  const push = (key: string, m: WrkMeasured, threadShare?: number): void => {
    series.set(key, [...(series.get(key) ?? []), m]);
    if (threadShare !== undefined) share.set(key, [...(share.get(key) ?? []), threadShare]);
  };
  const wakes: Array<{ first: number; nextP50: number; nextMax: number }> = [];
  const fixed: WrkBody = { kind: "fixed", body: exchangeBody(DOMAIN, wrkKey("fixed", 0)) };
  const repeated: WrkBody = { kind: "repeated", domain: DOMAIN, label: "tset", size: KEY_SET };

  for (let r = 0; r < ctx.reps; r++) {
    for (const serving of SERVINGS) {
      ctx.log(`tails: repetition ${r + 1}/${ctx.reps}, ${serving}`);
      const constant = await startReferenceWorker("constant", serving);
      const edge = await startBenchEdge([DOMAIN], ["gw01", "gw02"], { serving });
      const gws = [
        await BenchGateway.connect(edge.url, "gw01", DOMAIN, { track: false }),
        await BenchGateway.connect(edge.url, "gw02", DOMAIN, { track: false }),
      ];
      try {
        await registerKeySet(edge.url, DOMAIN, "tset", KEY_SET);
        await measureWrk(constant, { path: "/", threads: 2, connections: 16, durationS: 1, body: fixed, retries: 0 });
        for (const threads of THREADS) {
          for (const c of CONNECTIONS) {
            const o = { threads, connections: c, durationS };
            const mc = await measureWrk(constant, { ...o, path: "/", body: fixed });
            push(`constant/${serving}/t${threads}/${c}`, mc, threadShare(mc));
            const me = await measureWrk(edge, { ...o, path: V1, body: repeated });
            push(`edge/${serving}/t${threads}/${c}`, me, threadShare(me));
          }
        }
        // A Worker that leaves the body unread: workerd closes each connection after answering.
        const unread = await measureWrk(constant, {
          path: "/?ignore-body",
          threads: 2,
          connections: 16,
          durationS,
          body: fixed,
        });
        push(`constant-unread/${serving}/t2/16`, unread);

        if (serving === DEFAULT_SERVING) {
          // Scheduler: workerd alone on core 0, wrk on core 1 (2-core box).
          for (const [name, server, path, body] of [
            ["constant", constant, "/", fixed],
            ["edge", edge, V1, repeated],
          ] as const) {
            if (!server.pid) continue;
            pin(server.pid, "0");
            try {
              const m = await measureWrk(server, { path, threads: 2, connections: 64, durationS, body, cpus: "1" });
              push(`${name}-pinned/${serving}/t2/64`, m, threadShare(m));
            } finally {
              pin(server.pid, "0-1023");
            }
          }
          // The bench's former generator: one Node process, one http.Agent.
          const body = (i: number): string => exchangeBody(DOMAIN, wrkKey("tset", i % KEY_SET));
          push(`constant-node/${serving}/node/64`, await measureNode(constant, "/", 64, durationS, body));
          push(`edge-node/${serving}/node/64`, await measureNode(edge, V1, 64, durationS, body));
          // Hibernation: nothing but the gateways' (hibernatable) sockets for a while, then one
          // registration, then a few more: does waking the object show in a request's latency?
          await sleep(IDLE_MS);
          const first = await runLoad({ base: edge.url, path: V1, concurrency: 1, maxRequests: 1, body });
          const next = await runLoad({ base: edge.url, path: V1, concurrency: 1, maxRequests: 50, body });
          wakes.push({ first: first.max, nextP50: next.p50, nextMax: next.max });
          // Fan-out and acks: new keys with both gateways live (frames out, acks back), then none.
          const fresh = (label: string): WrkBody => ({ kind: "new", domain: DOMAIN, label });
          const o = { path: V1, threads: 2, connections: 16, durationS };
          push(`edge-new-2-gateways/${serving}/t2/16`, await measureWrk(edge, { ...o, body: fresh(`fo${r}g2`) }));
          for (const g of gws) await g.close();
          push(`edge-new-no-gateway/${serving}/t2/16`, await measureWrk(edge, { ...o, body: fresh(`fo${r}g0`) }));
        }
      } finally {
        for (const g of gws) await g.close();
        await edge.stop();
        await constant.stop();
        await sleep(200);
      }
    }
  }

  const rows: Row[] = [];
  for (const [key, runs] of series) {
    const [what, serving, client, c] = key.split("/");
    const shares = share.get(key);
    const p99x = median(runs.map((m) => m.p99 / m.p50));
    const extra = [
      `p99/p50 ${p99x.toFixed(1)}`,
      shares && shares.length > 0 && !key.includes("/t1/") ? `thread share ${median(shares).toFixed(2)}` : "",
    ]
      .filter(Boolean)
      .join(", ");
    const clientName = client === "node" ? "Node generator" : `wrk ${client!.slice(1)} thr`;
    rows.push(wrkRow("tails", `${what} via ${serving}, ${clientName} @${c}`, runs, extra));
  }
  if (wakes.length > 0) {
    rows.push({
      suite: "tails",
      figure: `edge via ${DEFAULT_SERVING}: first registration after ${IDLE_MS / 1000} s idle`,
      value: median(wakes.map((w) => w.first)),
      unit: "ms",
      note: `the next 50, one at a time: p50 ${median(wakes.map((w) => w.nextP50)).toFixed(2)} ms, max ${median(wakes.map((w) => w.nextMax)).toFixed(1)} ms; per run ${wakes.map((w) => w.first.toFixed(1)).join(", ")} ms`,
    });
  }
  return { rows, targets: [], data: { series: Object.fromEntries(series), share: Object.fromEntries(share), wakes } };
}

/** Requests of the slowest wrk thread over the fastest one's (1 = both served alike). */
function threadShare(m: WrkMeasured): number | undefined {
  const sent = m.runs.at(-1)?.sentPerThread ?? [];
  if (sent.length < 2) return undefined;
  return Math.min(...sent) / Math.max(...sent);
}
