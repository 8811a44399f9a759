import type { EdgeConfig } from "../config/schema.ts";
import type { Env } from "../env.ts";
import { registryFor } from "../registry/stub.ts";
import { edgeStats, flushRejections } from "./rejections.ts";
import type { DomainStatus } from "./status.ts";

export interface EdgeStatus {
  generated_at: string;
  domains: DomainStatus[];
  /** Rejections answered by the Worker itself (no domain), last day and totals. */
  edge: { rejections_last_day: Record<string, number>; totals: Record<string, number> };
}

/** Ask every domain's object and the edge counters, in parallel. */
export async function collectStatus(env: Env, config: EdgeConfig): Promise<EdgeStatus> {
  await flushRejections(env);
  const [domains, edge] = await Promise.all([
    Promise.all(config.domains.map((d) => registryFor(env, d).status())),
    edgeStats(env).snapshot(),
  ]);
  return {
    generated_at: new Date().toISOString(),
    domains,
    edge: { rejections_last_day: edge.last_day, totals: edge.totals },
  };
}
