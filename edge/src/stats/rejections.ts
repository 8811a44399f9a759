import type { Env } from "../env.ts";
import { logLine } from "../log.ts";

export type WorkerRejection = "invalid" | "rate_limited" | "too_large";

const FLUSH_AFTER_MS = 5_000;
let pending: Partial<Record<WorkerRejection, number>> = {};
let flushScheduled = false;

export const edgeStats = (env: Env) => env.EDGE_STATS.getByName("edge");

/**
 * Count a rejection in this isolate; the first one of a window schedules one write of the
 * whole window to EdgeStats, after the response, so floods cost one write per window.
 */
export function noteRejection(env: Env, ctx: Pick<ExecutionContext, "waitUntil">, kind: WorkerRejection): void {
  pending[kind] = (pending[kind] ?? 0) + 1;
  if (flushScheduled) return;
  flushScheduled = true;
  ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, FLUSH_AFTER_MS)).then(() => flushRejections(env)));
}

/** Write what this isolate counted so far (also before answering /status and /metrics). */
export async function flushRejections(env: Env): Promise<void> {
  const counts = pending;
  pending = {};
  flushScheduled = false;
  if (Object.keys(counts).length === 0) return;
  try {
    await edgeStats(env).add(counts as Record<string, number>, Date.now());
  } catch (error) {
    // Counting must never break answering; keep the counts for the next window.
    for (const [kind, n] of Object.entries(counts))
      pending[kind as WorkerRejection] = (pending[kind as WorkerRejection] ?? 0) + n;
    logLine("warn", "could not record rejection counts", { error: String(error) });
  }
}
