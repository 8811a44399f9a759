import { type Family, formatAddress, parseAddress } from "./ip.ts";

/**
 * MTU and endpoint family for one request (parker-facts §7.5). The upstream client applies
 * `mtu` verbatim, so it must already fit the node's WAN: WireGuard over IPv6 costs 80
 * bytes. wgkex's `min(v6mtu, 1375)` gives a DS-Lite node (1436) a tunnel 20 bytes too
 * large; `min(1375, v6mtu − 80)` gives 1356. Never below 1280, or IPv6 leaves the link.
 */
export interface TransportSettings {
  readonly maxMtu: number;
  readonly minMtu: number;
  /** WireGuard's overhead over IPv6: 40 IPv6 + 8 UDP + 32 WireGuard. */
  readonly overhead: number;
}

export const DEFAULT_TRANSPORT: TransportSettings = { maxMtu: 1375, minMtu: 1280, overhead: 80 };

export function tunnelMtu(v6mtu: number, settings: TransportSettings = DEFAULT_TRANSPORT): number {
  return Math.max(settings.minMtu, Math.min(settings.maxMtu, v6mtu - settings.overhead));
}

/**
 * The family of the endpoints a node gets, as etcd-tools chooses it: IPv4 when the request
 * came over IPv4, or when the WAN's IPv6 MTU cannot carry a full-size tunnel (below
 * maxMtu + overhead = 1455, typically DS-Lite); IPv6 otherwise.
 */
export function endpointFamily(
  clientAddress: string | null | undefined,
  v6mtu: number,
  settings: TransportSettings = DEFAULT_TRANSPORT,
): Family {
  const client = clientAddress ? parseAddress(clientAddress) : undefined;
  if (client === undefined || client.family === 4 || isMappedIPv4(client.value)) return 4;
  return v6mtu < settings.maxMtu + settings.overhead ? 4 : 6;
}

const isMappedIPv4 = (value: bigint): boolean => value >> 32n === 0xffffn;

/** `addr:port`, or `[addr]:port` for IPv6, as wg prints endpoints (the node compares them). */
export function formatEndpoint(address: string, port: number): string {
  const parsed = parseAddress(address);
  if (parsed === undefined) throw new TypeError(`endpoint address ${address} is not an IP literal`);
  const text = formatAddress(parsed);
  return parsed.family === 6 ? `[${text}]:${port}` : `${text}:${port}`;
}
