/**
 * Where the request path's CPU goes, measured with Linux `perf` (CPU samples, so foreign
 * load does not distort the shares the way a wall-clock sampler would): the edge on bare
 * `workerd serve` with V8's --perf-basic-prof (JIT code gets names), wrk sending repeated
 * keys, new keys and invalid requests (v1, 16 connections), and the constant Worker for
 * comparison. Reported per figure: the share of JavaScript (all of the bundle: our code,
 * hono, zod), of the runtime, of the kernel, and the inclusive share of the runtime's
 * main steps. Needs `perf` (Debian: linux-perf) and root.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { BenchGateway } from "../lib/gateway.ts";
import { exchangeBody } from "../lib/keys.ts";
import { registerKeySet } from "../lib/load.ts";
import { measureWrk, type WrkMeasured } from "../lib/measure.ts";
import type { BenchContext, Row, SuiteResult } from "../lib/report.ts";
import { type Served, startBenchEdge, startReferenceWorker } from "../lib/servers.ts";
import { sleep } from "../lib/stats.ts";
import { type WrkBody, wrkKey } from "../lib/wrk.ts";

const DOMAIN = "ffmuc_profile";
const KEY_SET = 10_000;
const V1 = "/api/v1/wg/key/exchange";

/** Runtime steps, found by a part of their symbol; shares are inclusive (they nest). */
const STEPS: Array<[string, string]> = [
  ["HTTP request -> Worker invocation", "WorkerEntrypoint::request(kj::HttpMethod"],
  ["request body read, back in the isolate", "awaitIoImpl<kj::String,"],
  ["DO RPC: the object's side", "workerd::api::JsRpcTargetBase::callImpl"],
  ["DO RPC: the result, back in the Worker", "awaitIoImpl<capnp::Response<workerd::rpc::JsRpcTarget::CallResults>"],
  ["SQLite (sql.exec)", "workerd::api::SqlStorage::exec"],
  [
    "new Response",
    "ConstructorCallback<workerd::server::(anonymous namespace)::JsgWorkerdIsolate_TypeWrapper, workerd::api::Response,",
  ],
  ["socket writes", "AsyncStreamFd::write("],
  ["microtasks (promise continuations)", "workerd::jsg::Lock::runMicrotasks"],
];

export interface CpuProfile {
  samples: string;
  /** Self shares by where the code lives, 0..1. */
  javascript: number;
  runtime: number;
  kernel: number;
  libc: number;
  steps: Record<string, number>;
}

function perfReport(file: string, args: string[]): string {
  const r = spawnSync("perf", ["report", "-i", file, "--stdio", "-g", "none", ...args], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`perf report failed: ${r.stderr}`);
  return r.stdout;
}

const percent = (line: string): number => Number(/^\s*([\d.]+)%/.exec(line)?.[1] ?? 0) / 100;

/** Record `pid` with perf while `during` runs; summarise. */
async function profiled<T>(pid: number, during: () => Promise<T>): Promise<{ value: T; profile: CpuProfile }> {
  const dir = mkdtempSync(path.join(tmpdir(), "wgkex-bench-perf-"));
  const file = path.join(dir, "perf.data");
  const perf = spawn("perf", ["record", "-F", "999", "-g", "-p", String(pid), "-o", file], { stdio: "ignore" });
  const exited = new Promise<number | null>((resolve, reject) => {
    perf.once("exit", resolve);
    perf.once("error", (e: NodeJS.ErrnoException) =>
      reject(e.code === "ENOENT" ? new Error("perf is not installed: apt-get install -y linux-perf") : e),
    );
  });
  try {
    await sleep(300);
    const value = await during();
    perf.kill("SIGINT");
    await exited;
    const byDso = perfReport(file, ["--no-children", "--sort", "dso"]);
    const share = (match: (dso: string) => boolean): number =>
      byDso
        .split("\n")
        .filter((l) => /^\s*[\d.]+%/.test(l) && match(l.replace(/^\s*[\d.]+%\s*/, "")))
        .reduce((s, l) => s + percent(l), 0);
    const bySym = perfReport(file, ["--children", "--sort", "sym"]).split("\n");
    const steps: Record<string, number> = {};
    for (const [name, pattern] of STEPS) {
      steps[name] = Math.max(0, ...bySym.filter((l) => l.includes(pattern)).map(percent));
    }
    // "# Samples: 5K of event 'cpu-clock'": approximate, for the note only.
    const samples = /# Samples: (\S+)/.exec(byDso)?.[1] ?? "?";
    return {
      value,
      profile: {
        samples,
        javascript: share((d) => d.startsWith("[JIT]")),
        runtime: share((d) => d.startsWith("workerd")),
        kernel: share((d) => d.startsWith("[kernel")),
        libc: share((d) => d.startsWith("libc")),
        steps,
      },
    };
  } finally {
    perf.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    rmSync(`/tmp/perf-${pid}.map`, { force: true });
  }
}

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  const durationS = ctx.quick ? 3 : 6;
  const v8Flags = ["--perf-basic-prof"];
  const edge = await startBenchEdge([DOMAIN], ["gw01", "gw02"], { serving: "workerd", v8Flags });
  const constant = await startReferenceWorker("constant", "workerd", v8Flags);
  const rpc = await startReferenceWorker("rpc", "workerd", v8Flags);
  const gws = [
    await BenchGateway.connect(edge.url, "gw01", DOMAIN, { track: false }),
    await BenchGateway.connect(edge.url, "gw02", DOMAIN, { track: false }),
  ];
  const rows: Row[] = [];
  const data: Record<string, { measured: WrkMeasured; profile: CpuProfile }> = {};
  try {
    await registerKeySet(edge.url, DOMAIN, "pset", KEY_SET);
    const fixed: WrkBody = { kind: "fixed", body: exchangeBody(DOMAIN, wrkKey("fixed", 0)) };
    const figures: Array<[string, Served, string, WrkBody]> = [
      ["edge v1, repeated keys", edge, V1, { kind: "repeated", domain: DOMAIN, label: "pset", size: KEY_SET }],
      ["edge v1, new keys", edge, V1, { kind: "new", domain: DOMAIN, label: "pnew" }],
      ["edge v1, invalid requests", edge, V1, { kind: "fixed", body: exchangeBody(DOMAIN, "not-a-key") }],
      ["reference: Worker -> DO RPC, no work", rpc, "/", fixed],
      ["reference: constant Worker", constant, "/", fixed],
    ];
    for (const [name, server, urlPath, body] of figures) {
      ctx.log(`profile: ${name}`);
      const { value: m, profile } = await profiled(server.pid!, () =>
        measureWrk(server, { path: urlPath, threads: 1, connections: 16, durationS, body, retries: 0 }),
      );
      data[name] = { measured: m, profile };
      const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
      rows.push({
        suite: "profile",
        figure: `${name} (bare workerd, perf)`,
        value: m.rps,
        unit: "req/s",
        p50: m.p50,
        p99: m.p99,
        max: m.max,
        note: `cpu ${m.cpuMsPerReq.toFixed(3)} ms/req; JavaScript ${pct(profile.javascript)}, runtime ${pct(profile.runtime)}, kernel ${pct(profile.kernel)}, libc ${pct(profile.libc)}; ${profile.samples} samples`,
      });
      for (const [step, share] of Object.entries(profile.steps)) {
        if (share > 0) rows.push({ suite: "profile", figure: `  ${step}`, value: share * 100, unit: "% incl." });
      }
    }
  } finally {
    for (const g of gws) await g.close();
    await edge.stop();
    await constant.stop();
    await rpc.stop();
  }
  return { rows, targets: [], data };
}
