import { containsPrefix, formatPrefix, type Prefix, parsePrefix } from "@wgkex-edge/shared/parker";
import type { RouteEntry, WgDump } from "../observe.ts";

export interface ParkerReconcilePlan {
  /** Ranges a peer holds (allowed-ips) without a route on the interface. */
  readonly addRoutes: string[];
  /** Our routes (inside the pools, not kernel routes) whose range no peer holds any more. */
  readonly delRoutes: string[];
}

/** `ip -j route` prints host routes without their length. */
function routePrefix(dst: string): Prefix | undefined {
  const text = dst.includes("/") ? dst : `${dst}/${dst.includes(":") ? 128 : 32}`;
  const parsed = parsePrefix(text);
  return parsed.ok ? parsed.prefix : undefined;
}

/**
 * Pure diff between the routes on the Parker interface and the ranges its peers hold.
 * Anything outside the pools (the concentrator's own addresses, operators' routes) is
 * foreign and left alone, as are kernel routes.
 */
export function planParkerReconcile(
  observed: { dump: WgDump; routes: readonly RouteEntry[] },
  pools: readonly Prefix[],
): ParkerReconcilePlan {
  const inPools = (p: Prefix) => pools.some((pool) => containsPrefix(pool, p));
  const needed = new Set<string>();
  for (const peer of observed.dump.peers) {
    for (const ip of peer.allowedIps) {
      const prefix = routePrefix(ip);
      if (prefix && inPools(prefix)) needed.add(formatPrefix(prefix));
    }
  }
  const have = new Set<string>();
  const delRoutes: string[] = [];
  for (const route of observed.routes) {
    if (route.protocol === "kernel") continue;
    const prefix = routePrefix(route.dst);
    if (!prefix || !inPools(prefix)) continue;
    const text = formatPrefix(prefix);
    if (needed.has(text)) have.add(text);
    else delRoutes.push(text);
  }
  return { addRoutes: [...needed].filter((r) => !have.has(r)), delRoutes };
}
