/**
 * The MTU chain of a domain: wg-… → vx-… → bat-…, and whether batman-adv will fragment.
 *
 * VXLAN over WireGuard over IPv6 costs 70 bytes (IPv6 40 + UDP 8 + VXLAN 8 + inner Ethernet 14),
 * so `mtu: 1420` leaves the VXLAN 1350. batman-adv needs 1560 on a hard interface to carry a
 * 1500-byte frame whole (ETH_DATA_LEN + its largest header with Ethernet; Debian 6.1's
 * batman-adv 2022.3 says so itself: "The MTU of interface vx-… is too small (1350) … Setting the
 * MTU to 1560 would solve the problem"). Below that, with fragmentation on (the default), it
 * splits frames on layer 2 and keeps bat-… at 1500; with fragmentation off it lowers bat-…
 * instead. See docs/gateway-install.md, "MTU".
 */
import { batctl, ip } from "../commands/builders.ts";
import type { CommandRunner } from "../commands/runner.ts";
import type { AgentConfig, DomainConfig } from "../config/schema.ts";

export const VXLAN_OVERHEAD = 70;
/** Outer IPv6 40 + UDP 8 + WireGuard 32 (IPv4 underlay: 20 less). */
export const WIREGUARD_OVERHEAD_IPV6 = 80;
export const BATMAN_HARDIF_MTU = 1560;
/** batman-adv's largest header including Ethernet (1560 - 1500). */
export const BATMAN_HEADER = 60;
const ETH_DATA_LEN = 1500;

/** What the kernel says; fields it could not tell are absent. */
export interface ObservedMtu {
  readonly wg?: number | undefined;
  readonly vx?: number | undefined;
  readonly bat?: number | undefined;
  readonly fragmentation?: boolean | undefined;
}

export interface MtuChain {
  readonly domain: string;
  readonly interfaces: { readonly wireguard: string; readonly vxlan: string; readonly batman: string };
  /** "kernel" when the interfaces exist, else "configuration" (what provisioning will make). */
  readonly source: "kernel" | "configuration";
  readonly wg: number;
  readonly vx: number;
  /** Undefined when batman-adv is disabled for the domain. */
  readonly bat: number | undefined;
  readonly fragmentation: boolean;
  /** batman-adv splits frames on vx-… (it logs "too small" when the interface is added). */
  readonly fragments: boolean;
  /** The wg-… MTU at which batman-adv carries 1500-byte frames whole, and the underlay packet it makes. */
  readonly wgWithoutFragments: number;
  readonly underlayPacket: number;
}

/** The chain from what the kernel reports, completed from the configuration where it is silent. */
export function mtuChain(domain: DomainConfig, observed: ObservedMtu = {}): MtuChain {
  const batman = domain.batman.enabled;
  const wg = observed.wg ?? domain.mtu;
  const vx = observed.vx ?? wg - VXLAN_OVERHEAD;
  const fragmentation = observed.fragmentation ?? true;
  const tooSmall = vx < BATMAN_HARDIF_MTU;
  const bat = batman ? (observed.bat ?? (fragmentation || !tooSmall ? ETH_DATA_LEN : vx - BATMAN_HEADER)) : undefined;
  const wgWithoutFragments = BATMAN_HARDIF_MTU + VXLAN_OVERHEAD;
  return {
    domain: domain.name,
    interfaces: {
      wireguard: domain.interfaces.wireguard,
      vxlan: domain.interfaces.vxlan,
      batman: domain.interfaces.batman,
    },
    source: observed.wg !== undefined && observed.vx !== undefined ? "kernel" : "configuration",
    wg,
    vx,
    bat,
    fragmentation,
    fragments: batman && fragmentation && tooSmall,
    wgWithoutFragments,
    underlayPacket: wgWithoutFragments + WIREGUARD_OVERHEAD_IPV6,
  };
}

/** "wg-welt 1420 → vx-welt 1350 → bat-welt 1500" */
export function formatChain(c: MtuChain): string {
  const parts = [`${c.interfaces.wireguard} ${c.wg}`, `${c.interfaces.vxlan} ${c.vx}`];
  if (c.bat !== undefined) parts.push(`${c.interfaces.batman} ${c.bat}`);
  return parts.join(" → ");
}

/** One line for `check`: the chain, and the trade-off when batman-adv fragments. */
export function describeChain(c: MtuChain): { warn: boolean; text: string } {
  const head = `MTU ${c.domain} (${c.source === "kernel" ? "from the kernel" : "from the configuration"}): ${formatChain(c)}`;
  if (c.bat === undefined) return { warn: false, text: `${head}; batman-adv disabled` };
  if (c.fragments) {
    return {
      warn: true,
      text:
        `${head}: batman-adv will fragment: ${c.interfaces.vxlan} ${c.vx} < ${BATMAN_HARDIF_MTU}, so every full-size ` +
        `client frame crosses the tunnel in two packets. To avoid it set mtu: ${c.wgWithoutFragments} ` +
        `(then WireGuard sends ${c.underlayPacket}-byte packets over IPv6, which a 1500-byte underlay fragments); ` +
        "see docs/gateway-install.md#mtu",
    };
  }
  if (!c.fragmentation && c.vx < BATMAN_HARDIF_MTU) {
    return {
      warn: true,
      text: `${head}: batman-adv fragmentation is off, so the mesh MTU is ${c.bat}: clients must use it (see docs/gateway-install.md#mtu)`,
    };
  }
  return { warn: false, text: `${head}: batman-adv carries 1500-byte frames whole (no fragmentation)` };
}

const linkMtu = async (runner: CommandRunner, dev: string): Promise<number | undefined> => {
  const r = await runner.run(ip.linkShow(dev), { readOnly: true });
  if (r.code !== 0) return undefined;
  try {
    return (JSON.parse(r.stdout) as Array<{ mtu?: number }>)[0]?.mtu;
  } catch {
    return undefined;
  }
};

/** Read the chain's MTUs and batman-adv's fragmentation setting from the host. */
export async function observeMtu(runner: CommandRunner, domain: DomainConfig): Promise<ObservedMtu> {
  const { wireguard, vxlan, batman } = domain.interfaces;
  const [wg, vx, bat] = await Promise.all([wireguard, vxlan, batman].map((dev) => linkMtu(runner, dev)));
  let fragmentation: boolean | undefined;
  if (domain.batman.enabled && bat !== undefined) {
    const r = await runner.run(batctl.fragmentation(batman), { readOnly: true });
    if (r.code === 0) fragmentation = /enabled|^1/m.test(r.stdout.trim());
  }
  return { wg, vx, bat: domain.batman.enabled ? bat : undefined, fragmentation };
}

/** Every domain's chain, from the host where the interfaces exist. */
export async function mtuChains(config: AgentConfig, runner: CommandRunner): Promise<MtuChain[]> {
  return Promise.all(config.domains.map(async (d) => mtuChain(d, await observeMtu(runner, d))));
}

/** The MTU table of `wgkex-agent status`. */
export function mtuTable(chains: readonly MtuChain[]): string {
  const rows = [["MTU", "WIREGUARD", "VXLAN", "BATMAN", "BATMAN-ADV FRAGMENTS", "FROM"]];
  for (const c of chains) {
    rows.push([
      c.domain,
      `${c.interfaces.wireguard} ${c.wg}`,
      `${c.interfaces.vxlan} ${c.vx}`,
      c.bat === undefined ? "-" : `${c.interfaces.batman} ${c.bat}`,
      c.bat === undefined ? "-" : c.fragments ? `yes (${c.interfaces.vxlan} < ${BATMAN_HARDIF_MTU})` : "no",
      c.source,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
