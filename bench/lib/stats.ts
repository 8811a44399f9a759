/** Small statistics helpers: every figure in the bench is a median of repeated runs. */

export function median(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return Number.NaN;
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile of an unsorted sample (p in 0..100). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export function summarize(latencies: ArrayLike<number>, n = latencies.length): LatencySummary {
  const sorted = Float64Array.from({ length: n }, (_, i) => latencies[i]!).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: n > 0 ? sorted[n - 1]! : Number.NaN,
    mean: n > 0 ? sum / n : Number.NaN,
  };
}

/** Median of each numeric field over repeated runs of the same shape. */
export function medianOf<T extends Record<string, unknown>>(runs: readonly T[]): Record<string, number> {
  const out: Record<string, number> = {};
  if (runs.length === 0) return out;
  for (const key of Object.keys(runs[0]!)) {
    if (typeof runs[0]![key] === "number") out[key] = median(runs.map((r) => r[key] as number));
  }
  return out;
}

export const round = (v: number, digits = 1): number =>
  Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : v;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until(predicate: () => boolean, what: string, timeoutMs: number, stepMs = 5): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}
