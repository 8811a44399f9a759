/** Retry-After with jitter, so throttled clients do not come back in lockstep. */
export function retryAfter(seconds: number, random: () => number = Math.random): string {
  return String(Math.max(1, Math.ceil(seconds * (1 + random() * 0.5))));
}
