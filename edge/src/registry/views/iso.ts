/** A stored time (ms since the epoch) as the API shows it; absent stays null. */
export const iso = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();
