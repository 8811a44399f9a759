/**
 * Issue 12: the public status endpoints must not starve registrations. A domain with 30,000
 * keys, one gateway live and acking, one that never connected (the costliest lag to count);
 * node registrations at 16 clients while N clients poll `/api/v1/status` or `/status` as
 * fast as they can. Smoke figures: the box is shared, read them with the foreign load.
 */
import { BenchGateway } from "../lib/gateway.ts";
import { benchKey, exchangeBody } from "../lib/keys.ts";
import { type LoadResult, runLoad } from "../lib/load.ts";
import { foreignLoadMeter } from "../lib/proc.ts";
import type { BenchContext, Row, SuiteResult } from "../lib/report.ts";
import { startBenchEdge } from "../lib/servers.ts";
import { median } from "../lib/stats.ts";

const DOMAIN = "ffmuc_status";
const KEYS = 30_000;
const CLIENTS = 16;
const POLLERS = 8;

interface Measured {
  registration: LoadResult;
  polls: LoadResult | undefined;
  foreignCores: number;
}

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  const durationMs = ctx.quick ? 3_000 : 8_000;
  const edge = await startBenchEdge([DOMAIN], ["gw01", "gw02"]);
  const series = new Map<string, Measured[]>();
  try {
    const gw = await BenchGateway.connect(edge.url, "gw01", DOMAIN, { track: false });
    ctx.log(`status: registering ${KEYS} keys`);
    const setup = await runLoad({
      base: edge.url,
      path: "/api/v1/wg/key/exchange",
      concurrency: 64,
      maxRequests: KEYS,
      body: (i) => exchangeBody(DOMAIN, benchKey("status", i)),
    });
    if (setup.ok !== KEYS) throw new Error(`setup: ${KEYS - setup.ok} of ${KEYS} registrations not 200`);

    const measure = async (pollPath: string | undefined, r: number): Promise<Measured> => {
      const foreign = foreignLoadMeter();
      const offset = (r * 7919) % KEYS;
      const [registration, polls] = await Promise.all([
        runLoad({
          base: edge.url,
          path: "/api/v1/wg/key/exchange",
          concurrency: CLIENTS,
          durationMs,
          body: (i) => exchangeBody(DOMAIN, benchKey("status", (offset + i) % KEYS)),
        }),
        pollPath === undefined
          ? undefined
          : runLoad({ base: edge.url, path: pollPath, method: "GET", concurrency: POLLERS, durationMs }),
      ]);
      return { registration, polls, foreignCores: foreign() };
    };
    const cases: Array<[string, string | undefined]> = [
      ["none", undefined],
      ["/api/v1/status", "/api/v1/status"],
      ["/status", "/status"],
    ];
    for (let r = 0; r < ctx.reps; r++) {
      ctx.log(`status: repetition ${r + 1}/${ctx.reps}`);
      for (const [name, path] of cases) series.set(name, [...(series.get(name) ?? []), await measure(path, r)]);
    }
    await gw.close();
  } finally {
    await edge.stop();
  }

  const rows: Row[] = [];
  for (const [name, runs] of series) {
    const reg = runs.map((m) => m.registration);
    const polls = runs.flatMap((m) => (m.polls ? [m.polls] : []));
    const foreign = median(runs.map((m) => m.foreignCores)).toFixed(2);
    const nonOk = reg.reduce((n, m) => n + m.requests - m.ok, 0);
    rows.push({
      suite: "status",
      figure: `registrations @${CLIENTS}, ${KEYS} keys, ${name === "none" ? "no status pollers" : `${POLLERS} pollers of ${name}`}`,
      value: median(reg.map((m) => m.rps)),
      unit: "req/s",
      p50: median(reg.map((m) => m.p50)),
      p99: median(reg.map((m) => m.p99)),
      max: median(reg.map((m) => m.max)),
      note: `${nonOk} not 200; foreign ${foreign} cores`,
    });
    if (polls.length > 0) {
      rows.push({
        suite: "status",
        figure: `  polls of ${name} meanwhile (${POLLERS} clients)`,
        value: median(polls.map((m) => m.rps)),
        unit: "req/s",
        p50: median(polls.map((m) => m.p50)),
        p99: median(polls.map((m) => m.p99)),
        max: median(polls.map((m) => m.max)),
        note: `${polls.reduce((n, m) => n + m.requests - m.ok, 0)} not 200`,
      });
    }
  }
  return { rows, targets: [], data: { series: Object.fromEntries(series) } };
}
