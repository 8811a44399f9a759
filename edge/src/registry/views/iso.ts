/**
 * A stored time (ms since the epoch) as the API shows it; absent stays null, and so does a
 * time no ISO date can show (written before frames and admin input were range-checked).
 */
export function iso(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined) return null;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
