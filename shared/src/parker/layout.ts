import { formatAddress, formatPrefix, hostAddress, type Prefix, subnet, subnetCount } from "./ip.ts";

/**
 * How an allocation index becomes a node's addresses, for both real clients:
 *
 * - FF Braunschweig (etcd-tools): index = node id; `range4` = the id-th /22 of the IPv4
 *   pool, `range6` = the id-th /64 of the IPv6 pool, addresses are each range's first host.
 * - FFMUC 464XLAT (wgkex parker): a /63 per node; `range6` is its first /64,
 *   `xlat_range6` its second; every node shares one IPv4 CLAT subnet and its `.1`.
 */
export interface ParkerLayout {
  /** Pool and per-node length. Without xlat the length is 64 (SLAAC needs a /64). */
  readonly ipv6: { readonly pool: Prefix; readonly length: number };
  /** Per-node IPv4 ranges from a pool, or one subnet every node shares (464XLAT's CLAT). */
  readonly ipv4: { readonly pool: Prefix; readonly length: number } | { readonly shared: Prefix };
  /** 464XLAT: the allocation's second /64 goes out as `xlat_range6`. */
  readonly xlat: boolean;
  /** Lowest index handed out; wgkex keeps the pool's first subnet back (index 0). */
  readonly firstIndex: number;
}

export interface NodeAddresses {
  readonly range4: string;
  readonly address4: string;
  readonly range6: string;
  readonly address6: string;
  readonly xlat_range6?: string;
  /** What gateways route to the node: the whole IPv6 allocation and, if per node, range4. */
  readonly routes: readonly string[];
}

/** Largest index any layout may use: allocations live in SQLite integers and JSON numbers. */
export const MAX_INDEX = 2 ** 31 - 1;

/** How many indexes a layout can hand out (from firstIndex on). */
export function layoutCapacity(layout: ParkerLayout): number {
  let slots = subnetCount(layout.ipv6.pool, layout.ipv6.length);
  if ("pool" in layout.ipv4) {
    const v4 = subnetCount(layout.ipv4.pool, layout.ipv4.length);
    if (v4 < slots) slots = v4;
  }
  const last = slots - 1n < BigInt(MAX_INDEX) ? Number(slots - 1n) : MAX_INDEX;
  return Math.max(0, last - layout.firstIndex + 1);
}

export const isUsableIndex = (layout: ParkerLayout, index: number): boolean =>
  Number.isInteger(index) && index >= layout.firstIndex && index < layout.firstIndex + layoutCapacity(layout);

/** The addresses of allocation `index`, in the text `ip` prints. */
export function addressesFor(layout: ParkerLayout, index: number): NodeAddresses {
  if (!isUsableIndex(layout, index)) throw new RangeError(`allocation index ${index} is outside the layout's pool`);
  const allocation6 = subnet(layout.ipv6.pool, layout.ipv6.length, index);
  const range6 = layout.xlat ? subnet(allocation6, 64, 0) : allocation6;
  const range4 = "pool" in layout.ipv4 ? subnet(layout.ipv4.pool, layout.ipv4.length, index) : layout.ipv4.shared;
  const routes = [formatPrefix(allocation6)];
  if ("pool" in layout.ipv4) routes.push(formatPrefix(range4));
  return {
    range4: formatPrefix(range4),
    address4: formatAddress(hostAddress(range4)),
    range6: formatPrefix(range6),
    address6: formatAddress(hostAddress(range6)),
    ...(layout.xlat ? { xlat_range6: formatPrefix(subnet(allocation6, 64, 1)) } : {}),
    routes,
  };
}
