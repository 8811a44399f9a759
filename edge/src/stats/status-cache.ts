import type { EdgeStatus } from "./collect.ts";

/**
 * The public status, collected at most once per `ttlMs` per isolate: requests meanwhile, and
 * requests that arrive while a collection runs, share it. So however often anybody polls
 * /status or /api/v1/status, the domain objects answer one status call per isolate and
 * interval, and registrations are not starved (issue 12). A failed collection is not kept.
 */
export class StatusCache {
  private current: { at: number; status: Promise<EdgeStatus> } | undefined;

  get(ttlMs: number, now: number, collect: () => Promise<EdgeStatus>): Promise<EdgeStatus> {
    if (this.current !== undefined && now - this.current.at < ttlMs) return this.current.status;
    const status = collect();
    const entry = { at: now, status };
    this.current = entry;
    status.catch(() => {
      if (this.current === entry) this.current = undefined;
    });
    return status;
  }
}
