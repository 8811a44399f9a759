import { MAX_RANGES_PER_NODE } from "@wgkex-edge/shared";
import { containsPrefix, formatPrefix, type Prefix, parsePrefix, prefixOf } from "@wgkex-edge/shared/parker";

/**
 * A node's ranges as the edge sends them, re-validated before they reach `wg` or `ip`: each
 * must be a canonical prefix inside one of the pools this gateway is configured to route
 * (`parker.pools`). An edge that sent 0.0.0.0/0, or another community's prefix, would
 * otherwise pull that traffic into one node's tunnel.
 */
export type RangeCheck = { ok: true; ranges: string[] } | { ok: false; reason: string };

/** At most this many ranges per node (the protocol's limit). */
export const MAX_RANGES = MAX_RANGES_PER_NODE;

/** The pools of a Parker domain's configuration (validated when the configuration loaded). */
export const poolsOf = (texts: readonly string[]): Prefix[] => texts.map(prefixOf);

export function checkRanges(ranges: readonly string[] | undefined, pools: readonly Prefix[]): RangeCheck {
  if (ranges === undefined || ranges.length === 0) return { ok: false, reason: "parker: no ranges for the node" };
  if (ranges.length > MAX_RANGES)
    return { ok: false, reason: `parker: ${ranges.length} ranges, at most ${MAX_RANGES}` };
  const out: string[] = [];
  for (const text of ranges) {
    const parsed = parsePrefix(text);
    if (!parsed.ok) return { ok: false, reason: `parker: ${parsed.reason}` };
    if (formatPrefix(parsed.prefix) !== text) {
      return { ok: false, reason: `parker: ${text} is not canonical (${formatPrefix(parsed.prefix)})` };
    }
    if (!pools.some((pool) => containsPrefix(pool, parsed.prefix))) {
      return { ok: false, reason: `parker: ${text} is outside this gateway's pools` };
    }
    if (!out.includes(text)) out.push(text);
  }
  return { ok: true, ranges: out };
}

/** The ranges of a list that are ours to un-route: canonical and inside the pools. */
export function rangesInPools(ranges: readonly string[], pools: readonly Prefix[]): string[] {
  return ranges.filter((r) => {
    const check = checkRanges([r], pools);
    return check.ok && check.ranges[0] === r;
  });
}
