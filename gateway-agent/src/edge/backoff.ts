/**
 * Exponential backoff with full jitter: a uniform delay in [0, min(max, base · 2^attempt)].
 * `random` is injectable so tests are deterministic.
 */
export function backoffDelay(
  attempt: number,
  options: { baseMs: number; maxMs: number },
  random: () => number = Math.random,
): number {
  const cap = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}
