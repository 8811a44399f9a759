/**
 * `import-wgkex --from-host`: what the running gateway's interfaces say that wgkex.yaml
 * cannot (wgkex's worker never made the interfaces: networkd or scripts did). Read-only
 * commands; parsing is pure and tested on the commands' real output shapes.
 */
import { interfacesForSuffix } from "@wgkex-edge/shared";
import { ip, wg } from "../commands/builders.ts";
import type { CommandRunner } from "../commands/runner.ts";

/** What one domain's interfaces look like now; undefined fields were not found. */
export interface HostDomainFacts {
  readonly wireguard: string;
  /** wg-<suffix> exists. */
  readonly exists: boolean;
  readonly listenPort?: number;
  readonly mtu?: number;
  /** The gateway's public key on wg-<suffix> (its private key stays where it is). */
  readonly publicKey?: string;
  readonly vni?: number;
  /** bat-<suffix> exists. */
  readonly batman?: boolean;
  /** The bridge bat-<suffix> is a port of. */
  readonly bridge?: string;
}

interface LinkJson {
  mtu?: number;
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number } };
}

/** `ip -d -j link show dev X` output: the first link, or undefined. */
export function parseLink(stdout: string): LinkJson | undefined {
  try {
    const parsed = JSON.parse(stdout) as unknown;
    return Array.isArray(parsed) ? (parsed[0] as LinkJson | undefined) : undefined;
  } catch {
    return undefined;
  }
}

/** The interface line of `wg show X dump`: private key, public key, listen port, fwmark. */
export function parseWgInterfaceLine(stdout: string): { publicKey?: string; listenPort?: number } {
  const fields = (stdout.split("\n")[0] ?? "").split("\t");
  const port = Number(fields[2]);
  return {
    ...(fields[1] && fields[1] !== "(none)" ? { publicKey: fields[1] } : {}),
    ...(Number.isInteger(port) && port > 0 ? { listenPort: port } : {}),
  };
}

export async function readHostDomain(runner: CommandRunner, suffix: string): Promise<HostDomainFacts> {
  const names = interfacesForSuffix(suffix);
  const link = async (dev: string) => {
    const r = await runner.run(ip.linkShow(dev), { readOnly: true });
    return r.code === 0 ? parseLink(r.stdout) : undefined;
  };
  const wgLink = await link(names.wireguard);
  if (wgLink === undefined) return { wireguard: names.wireguard, exists: false };
  const dump = await runner.run(wg.show(names.wireguard), { readOnly: true });
  const wgFacts = dump.code === 0 ? parseWgInterfaceLine(dump.stdout) : {};
  const vx = await link(names.vxlan);
  const bat = await link(names.batman);
  const vni = vx?.linkinfo?.info_kind === "vxlan" ? vx.linkinfo.info_data?.id : undefined;
  return {
    wireguard: names.wireguard,
    exists: true,
    ...wgFacts,
    ...(wgLink.mtu !== undefined ? { mtu: wgLink.mtu } : {}),
    ...(vni !== undefined ? { vni } : {}),
    batman: bat !== undefined,
    ...(bat?.master !== undefined ? { bridge: bat.master } : {}),
  };
}
