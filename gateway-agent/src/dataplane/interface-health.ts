import { VXLAN_PORT } from "../commands/builders.ts";

/** Pure: is a domain's stack of interfaces still the one the agent provisioned? */

export interface LinkState {
  readonly kind: string | undefined;
  readonly data: Readonly<Record<string, unknown>>;
  readonly up: boolean;
  readonly master: string | undefined;
}

/** `ip -d -j link show` (every link of the namespace): name → state. */
export function parseLinks(json: string): Map<string, LinkState> {
  const links = new Map<string, LinkState>();
  const trimmed = json.trim();
  if (trimmed === "") return links;
  const data: unknown = JSON.parse(trimmed);
  if (!Array.isArray(data)) return links;
  for (const raw of data as Array<Record<string, unknown>>) {
    if (typeof raw.ifname !== "string") continue;
    const info = (raw.linkinfo ?? {}) as { info_kind?: unknown; info_data?: unknown };
    links.set(raw.ifname, {
      kind: typeof info.info_kind === "string" ? info.info_kind : undefined,
      data: (info.info_data ?? {}) as Record<string, unknown>,
      up: Array.isArray(raw.flags) && raw.flags.includes("UP"),
      master: typeof raw.master === "string" ? raw.master : undefined,
    });
  }
  return links;
}

/** `ip -6 -j addr show dev X`: the addresses on it. */
export function parseAddresses(json: string): string[] {
  const trimmed = json.trim();
  if (trimmed === "") return [];
  const data = JSON.parse(trimmed) as Array<{ addr_info?: Array<{ local?: string }> }>;
  return (Array.isArray(data) ? data : []).flatMap((l) => (l.addr_info ?? []).map((a) => a.local ?? ""));
}

/** What provisioning set up for one domain. */
export interface ProvisionedStack {
  readonly wireguard: string;
  /** Absent in a Parker domain: WireGuard only. */
  readonly vxlan?: string | undefined;
  /** Only when provisioning managed to set up batman-adv (and the bridge). */
  readonly batman?: string | undefined;
  readonly bridge?: string | undefined;
  readonly publicKey: string;
  readonly listenPort: number;
  /** The gateway's link-local address on the wg interface. */
  readonly address: string;
  readonly vni: number;
}

export interface ObservedStack {
  readonly links: ReadonlyMap<string, LinkState>;
  /** `wg show <if> dump`'s interface line; undefined when it could not be read. */
  readonly wireguard: { readonly publicKey: string | undefined; readonly listenPort: number | undefined } | undefined;
  /** Addresses on the wg interface; undefined when they could not be read. */
  readonly addresses: readonly string[] | undefined;
}

/**
 * What is wrong with the stack, one line each (empty when nothing is): an interface deleted
 * or recreated behind the agent's back (systemd-networkd, an operator), a private key or
 * port lost with it, the VXLAN interface gone with its lower device, batman-adv or the bridge
 * without their port. Any line means "provision again, then reconcile".
 */
export function interfaceProblems(seen: ObservedStack, want: ProvisionedStack): string[] {
  const problems: string[] = [];
  const wg = seen.links.get(want.wireguard);
  if (wg === undefined) return [`${want.wireguard} is missing`];
  if (!wg.up) problems.push(`${want.wireguard} is down`);
  if (seen.wireguard === undefined) problems.push(`${want.wireguard}: WireGuard does not answer (wg show)`);
  else {
    if (seen.wireguard.publicKey !== want.publicKey)
      problems.push(`${want.wireguard} has public key ${seen.wireguard.publicKey ?? "(none)"}, not ${want.publicKey}`);
    if (seen.wireguard.listenPort !== want.listenPort)
      problems.push(`${want.wireguard} listens on ${seen.wireguard.listenPort ?? "no port"}, not ${want.listenPort}`);
  }
  if (seen.addresses !== undefined && !seen.addresses.includes(want.address))
    problems.push(`${want.wireguard} lacks its address ${want.address}`);
  if (want.vxlan === undefined) return problems;
  const vx = seen.links.get(want.vxlan);
  if (vx === undefined) problems.push(`${want.vxlan} is missing`);
  else {
    const d = vx.data;
    if (
      vx.kind !== "vxlan" ||
      d.id !== want.vni ||
      d.local6 !== want.address ||
      d.port !== VXLAN_PORT ||
      d.link !== want.wireguard
    )
      problems.push(`${want.vxlan} has other VXLAN settings`);
    // Its MAC is not checked: an adopted VXLAN keeps its own (provision.ts).
    if (!vx.up) problems.push(`${want.vxlan} is down`);
  }
  if (want.batman !== undefined) {
    const bat = seen.links.get(want.batman);
    if (bat === undefined) problems.push(`${want.batman} is missing`);
    else if (!bat.up) problems.push(`${want.batman} is down`);
    if (vx !== undefined && vx.master !== want.batman) problems.push(`${want.vxlan} is not a port of ${want.batman}`);
    if (want.bridge !== undefined) {
      if (!seen.links.has(want.bridge)) problems.push(`${want.bridge} is missing`);
      if (bat !== undefined && bat.master !== want.bridge)
        problems.push(`${want.batman} is not a port of ${want.bridge}`);
    }
  }
  return problems;
}
