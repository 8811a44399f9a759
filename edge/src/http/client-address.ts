import { parseAddress } from "@wgkex-edge/shared/parker";

/**
 * The rate-limit key for a client: its IPv4 address, or its IPv6 /64 (one site; a client
 * owning a /64 could otherwise rotate addresses to dodge the limit).
 */
export function clientKey(address: string | null | undefined): string {
  if (!address) return "unknown";
  if (!address.includes(":")) return address;
  const groups = expandIPv6(address);
  if (groups === undefined) return address;
  // IPv4-mapped addresses are IPv4 clients.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (a zone is ignored), or undefined when it is not one. */
export function expandIPv6(address: string): number[] | undefined {
  const parsed = parseAddress(address.trim().split("%")[0]!);
  if (parsed?.family !== 6) return undefined;
  return Array.from({ length: 8 }, (_, i) => Number((parsed.value >> BigInt(112 - 16 * i)) & 0xffffn));
}
