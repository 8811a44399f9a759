/**
 * One JSON line per event on the Worker's console (Workers Logs, `wrangler tail`): the level,
 * what happened, and the facts an operator needs to find it. Never tokens, never client
 * addresses.
 */
export function logLine(level: "warn" | "error", msg: string, fields: Record<string, unknown> = {}): void {
  console.error(JSON.stringify({ level, msg, ...fields }));
}
