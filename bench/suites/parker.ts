/**
 * Parker (API v3): configuration answers per second, signing included, next to v2 on the
 * same edge in the same run (local workerd, rate limits off, two concentrators online).
 * New keys allocate (IPAM in the domain's object + one log change); repeated keys are
 * answered from what is stored. Plus Ed25519 signatures per second in this Node process,
 * for scale.
 */
import { createParkerSigner, signedBody } from "@wgkex-edge/shared/parker";
import vectors from "@wgkex-edge/shared/testing/parker-vectors.json" with { type: "json" };
import { BenchGateway } from "../lib/gateway.ts";
import { benchKey, exchangeBody } from "../lib/keys.ts";
import { runLoad } from "../lib/load.ts";
import { cpuMsOf } from "../lib/proc.ts";
import { type BenchContext, type Row, type SuiteResult, type Target, target } from "../lib/report.ts";
import { startBenchEdge } from "../lib/servers.ts";
import { median, sleep } from "../lib/stats.ts";

const CONCURRENCY = [1, 16, 64] as const;
const V2 = "ffmuc_v2bench";
const PARKER = "ffmuc_parker";
const KEY_SET = 5_000;

const config = {
  domains: [V2, PARKER],
  domain_prefixes: ["ffmuc_"],
  gateways: [
    { name: "gw01", parker: { id: 1, endpoint4: "198.51.100.1", endpoint6: "2001:db8::1" } },
    { name: "gw02", location: "fra", parker: { id: 2, endpoint4: "198.51.100.2" } },
  ],
  limits: { enabled: false },
  parker: {
    domain: PARKER,
    public_key: vectors.key.signify_public_key,
    // 4 M allocations: the bench never runs out.
    ipv6: { pool: "2001:db8::/42", length: 64 },
    ipv4: { pool: "10.0.0.0/8", length: 30 },
    limits: { new_per_source: 1_000_000_000, new_per_hour: 1_000_000_000, max_unconfirmed_percent: 100 },
  },
};

const configPath = (key: string, i: number) =>
  `/config?pubkey=${key.replaceAll("+", "%2B")}&nonce=${i.toString(16).padStart(32, "0")}&v6mtu=1500&version=bench`;

/** Ed25519 signatures of a typical answer per second, in this process, one at a time. */
async function signingRate(ms: number): Promise<number> {
  const signer = await createParkerSigner(vectors.key.signify_secret_key, {
    publicKey: vectors.key.signify_public_key,
  });
  const json = vectors.wgkex_answer.json;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    await signedBody(json, signer);
    n++;
  }
  return (n / (performance.now() - t0)) * 1000;
}

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  const D = ctx.quick ? 1_000 : 3_000;
  const edge = await startBenchEdge(config.domains, ["gw01", "gw02"], {
    parker: { config, signingKey: vectors.key.signify_secret_key },
  });
  ctx.log(`edge ${edge.url.href} (workerd pid ${edge.pid})`);
  const series = new Map<string, Array<{ rps: number; p50: number; p99: number; cpu: number }>>();
  const problems: string[] = [];
  const gws: BenchGateway[] = [];
  try {
    for (const domain of [V2, PARKER]) {
      for (const name of ["gw01", "gw02"])
        gws.push(await BenchGateway.connect(edge.url, name, domain, { v2: true, track: false }));
    }
    await sleep(100);
    const measure = async (
      name: string,
      c: number,
      options: { path: string | ((i: number) => string); method: "GET" | "POST"; body?: (i: number) => string },
      maxRequests?: number,
    ) => {
      const cpu0 = edge.pid ? cpuMsOf(edge.pid) : Number.NaN;
      const r = await runLoad({
        base: edge.url,
        concurrency: c,
        durationMs: D,
        ...options,
        ...(maxRequests ? { maxRequests } : {}),
      });
      const cpu = edge.pid ? (cpuMsOf(edge.pid) - cpu0) / r.requests : Number.NaN;
      if (r.ok !== r.requests)
        problems.push(`${name} @${c}: ${r.requests - r.ok} of ${r.requests} not 200 (${JSON.stringify(r.statuses)})`);
      series.set(`${name}/${c}`, [...(series.get(`${name}/${c}`) ?? []), { rps: r.rps, p50: r.p50, p99: r.p99, cpu }]);
      return r;
    };
    // Warm-up, not recorded.
    await runLoad({
      base: edge.url,
      concurrency: 16,
      durationMs: 500,
      method: "GET",
      path: (i) => configPath(benchKey("warm", i), i),
    });

    for (let rep = 0; rep < ctx.reps; rep++) {
      ctx.log(`parker: repetition ${rep + 1}/${ctx.reps}`);
      const known: string[] = [];
      for (const c of CONCURRENCY) {
        const label = `p${rep}/${c}`;
        const r = await measure("parker-new", c, { method: "GET", path: (i) => configPath(benchKey(label, i), i) });
        for (let i = 0; i < r.requests && known.length < KEY_SET; i++) known.push(benchKey(label, i));
      }
      for (const c of CONCURRENCY) {
        await measure("parker-repeated", c, {
          method: "GET",
          path: (i) => configPath(known[(i * 7919 + c) % known.length]!, i),
        });
      }
      const v2known: string[] = [];
      for (const c of CONCURRENCY) {
        const label = `v${rep}/${c}`;
        const r = await measure("v2-new", c, {
          method: "POST",
          path: "/api/v2/wg/key/exchange",
          body: (i) => exchangeBody(V2, benchKey(label, i)),
        });
        for (let i = 0; i < r.requests && v2known.length < KEY_SET; i++) v2known.push(benchKey(label, i));
      }
      for (const c of CONCURRENCY) {
        await measure("v2-repeated", c, {
          method: "POST",
          path: "/api/v2/wg/key/exchange",
          body: (i) => exchangeBody(V2, v2known[(i * 7919 + c) % v2known.length]!),
        });
      }
    }
  } finally {
    for (const g of gws) await g.close();
    await edge.stop();
  }
  const signing = await signingRate(ctx.quick ? 500 : 2_000);

  const labels: Record<string, string> = {
    "parker-new": "Parker GET /config, new keys (allocate + sign)",
    "parker-repeated": "Parker GET /config, known keys (sign)",
    "v2-new": "v2 POST, new keys",
    "v2-repeated": "v2 POST, repeated keys",
  };
  const rows: Row[] = [];
  for (const [key, runs] of series) {
    const [name, c] = key.split("/");
    rows.push({
      suite: "parker",
      figure: `${labels[name!]} @${c}`,
      value: median(runs.map((r) => r.rps)),
      unit: "req/s",
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      note: `workerd cpu ${median(runs.map((r) => r.cpu)).toFixed(3)} ms/req`,
    });
  }
  rows.push({
    suite: "parker",
    figure: "Ed25519 signatures of an answer (Node, 1 core)",
    value: signing,
    unit: "sig/s",
  });
  const targets: Target[] = [
    target("parker", "non-200 answers", problems.length, "==", 0, problems.join("; ") || undefined),
  ];
  return { rows, targets, data: { series: Object.fromEntries(series), signing, problems } };
}
