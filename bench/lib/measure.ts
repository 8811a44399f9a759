import { cpuMsOf, foreignLoadMeter } from "./proc.ts";
import type { Served } from "./servers.ts";
import { sleep } from "./stats.ts";
import { runWrk, type WrkBody, type WrkOptions, type WrkResult } from "./wrk.ts";

/** One wrk figure with what the server spent on it and what else ran on the box meanwhile. */
export interface WrkMeasured {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  requests: number;
  /** wrk's socket errors (connect + read + write + timeout). */
  socketErrors: number;
  errors: WrkResult["errors"];
  /** Answers with a status above 399. */
  non2xx: number;
  /** CPU of the serving workerd (or Node) process per request, ms. */
  cpuMsPerReq: number;
  /** CPU used by processes outside the bench during the measurement, cores. */
  foreignCores: number;
  /** CPU wrk itself used, cores. */
  clientCores: number;
  /**
   * Every wrk run of this figure, retries included, with the keys each thread built: what may
   * have reached the server ("new" bodies must all be accounted for, also a discarded run's).
   */
  runs: Array<{ body: WrkBody; sentPerThread: number[] }>;
}

/** Foreign CPU (cores) above which a measurement is repeated (other work on a shared box). */
export const NOISY_CORES = 0.25;

export interface MeasureOptions extends Omit<WrkOptions, "url"> {
  /** Repeat up to this many times while foreign load is above NOISY_CORES (default 2). */
  retries?: number;
  /** Called before each retry (a "new" body needs a fresh label). */
  beforeRetry?: (attempt: number) => Omit<WrkOptions, "url">;
}

export async function measureWrk(server: Served, options: MeasureOptions): Promise<WrkMeasured> {
  let run: Omit<WrkOptions, "url"> = options;
  const runs: WrkMeasured["runs"] = [];
  for (let attempt = 0; ; attempt++) {
    const cpu0 = server.pid ? cpuMsOf(server.pid) : Number.NaN;
    const foreign = foreignLoadMeter();
    const r = await runWrk({ ...run, url: server.url });
    const cpu = server.pid ? cpuMsOf(server.pid) - cpu0 : Number.NaN;
    const foreignCores = foreign();
    runs.push({ body: run.body, sentPerThread: r.sentPerThread });
    const measured: WrkMeasured = {
      rps: r.rps,
      p50: r.p50,
      p99: r.p99,
      max: r.max,
      requests: r.requests,
      socketErrors: r.socketErrors,
      errors: r.errors,
      non2xx: r.non2xx,
      cpuMsPerReq: cpu / r.requests,
      foreignCores,
      clientCores: r.cores,
      runs,
    };
    if (foreignCores <= NOISY_CORES || attempt >= (options.retries ?? 2)) return measured;
    await sleep(1_000);
    if (options.beforeRetry) run = options.beforeRetry(attempt + 1);
  }
}
