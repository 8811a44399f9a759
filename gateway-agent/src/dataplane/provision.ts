import { readFileSync } from "node:fs";
import { isPublicKey, linkLocal, stableMac } from "@wgkex-edge/shared";
import { batctl, ip, parker, VXLAN_PORT, wg, ZERO_MAC } from "../commands/builders.ts";
import { type CommandRunner, type DaemonHandle, mustRun } from "../commands/runner.ts";
import type { AgentConfig, DomainConfig } from "../config/schema.ts";
import { privateKeyAdvice, publicKeyFromPrivate } from "../keys.ts";
import type { Logger } from "../log.ts";
import { parseWgDump } from "./observe.ts";
import type { PeerProgrammer } from "./peers.ts";

export interface ProvisionResult {
  /** The WireGuard interface was created now (reboot, first start). */
  readonly created: boolean;
  /**
   * The WireGuard interface holds no node peer: created now, or found without them (made by
   * systemd-networkd at boot, say): ask the edge for a snapshot, a replay would miss the rest.
   */
  readonly withoutPeers: boolean;
  readonly publicKey: string;
  /** The gateway's own link-local address on wg-<suffix>. */
  readonly address: string;
  /** Things that could not be set up; the domain still runs its WireGuard/VXLAN part. */
  readonly problems: string[];
  /** batman-adv (and the bridge, when configured) were set up: the health check expects them. */
  readonly batman: boolean;
  /** Parker: the concentrator's IPv4 on the interface (the nodes' IPv4 next hop). */
  readonly address4?: string;
  /** The MAC vx-<suffix> has: its own when found in order (a migrated gateway), else the derived one; none in a Parker domain. */
  readonly vxlanMac?: string;
}

export class ProvisionError extends Error {
  override name = "ProvisionError";
}

export interface LinkInfo {
  readonly kind: string | undefined;
  readonly data: Record<string, unknown>;
  readonly address?: string | undefined;
  readonly mtu?: number | undefined;
  readonly up?: boolean;
  readonly master?: string | undefined;
  /** inet6_addr_gen_mode: "none" when the kernel adds no link-local address by itself. */
  readonly addrGenMode?: string | undefined;
}

/** `ip -d -j link show dev X`: undefined when the interface does not exist. */
export async function linkInfo(runner: CommandRunner, dev: string): Promise<LinkInfo | undefined> {
  const r = await runner.run(ip.linkShow(dev), { readOnly: true });
  if (r.code !== 0) return undefined;
  try {
    const [link] = JSON.parse(r.stdout) as Array<{
      address?: string;
      mtu?: number;
      flags?: string[];
      master?: string;
      inet6_addr_gen_mode?: string;
      linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
    }>;
    if (!link) return undefined;
    return {
      kind: link.linkinfo?.info_kind,
      data: link.linkinfo?.info_data ?? {},
      address: link.address,
      mtu: link.mtu,
      up: link.flags?.includes("UP") ?? false,
      master: link.master,
      addrGenMode: link.inet6_addr_gen_mode,
    };
  } catch {
    return { kind: undefined, data: {} };
  }
}

export const BATMAN_MISSING =
  "batman-adv is not available: kernel module batman_adv is not loaded. Run `modprobe batman-adv` " +
  "(Debian: install linux-modules-extra for your kernel, or use a kernel with CONFIG_BATMAN_ADV), " +
  "or set batman.enabled: false for this domain";
export const BATCTL_MISSING = "batctl not found: install it (`apt install batctl`)";

function batmanProblem(stderr: string, code: number): string | undefined {
  if (code === 127 || /ENOENT|not found/i.test(stderr)) return BATCTL_MISSING;
  if (/module not loaded|Operation not supported|not supported|No such file or directory/i.test(stderr))
    return BATMAN_MISSING;
  return undefined;
}

export interface ProvisionOptions {
  readonly logger: Logger;
  /** Reads the private key file (tests inject one). */
  readonly readFile?: (path: string) => string;
  /** How long to wait for a userspace WireGuard to come up. */
  readonly userspaceTimeoutMs?: number;
  /** Where wireguard-go's output goes (userspace). */
  readonly daemonLog?: string;
  /** The MAC a (re)created VXLAN interface gets: the one it had before (state), else derived from key and VNI. */
  readonly vxlanMac?: string;
}

/** A unicast, non-zero MAC in `ip`'s notation. */
const UNICAST_MAC = /^[0-9a-f][02468ace](:[0-9a-f]{2}){5}$/;

/** The gateway's own key and address for a domain, from its private key file. */
export function ownIdentity(domain: DomainConfig, readFile: (path: string) => string = (p) => readFileSync(p, "utf8")) {
  let text: string;
  try {
    text = readFile(domain.private_key_file);
  } catch (e) {
    throw new ProvisionError(
      `domains.${domain.name}.private_key_file: cannot read ${domain.private_key_file}: ${(e as Error).message} (${privateKeyAdvice(domain.private_key_file, domain.interfaces.wireguard, undefined)})`,
    );
  }
  let publicKey: string;
  try {
    publicKey = publicKeyFromPrivate(text.trim());
  } catch (e) {
    throw new ProvisionError(
      `domains.${domain.name}.private_key_file: ${domain.private_key_file}: ${(e as Error).message}`,
    );
  }
  return { publicKey, address: linkLocal(publicKey, domain.variant) };
}

/**
 * A WireGuard interface that already runs (a wgkex gateway being migrated, or the agent's
 * own after a restart) must keep its key: setting another one changes the gateway's public
 * key under every router's tunnel. True when the interface answers (a userspace daemon runs).
 */
async function keepRunningKey(runner: CommandRunner, domain: DomainConfig, publicKey: string): Promise<boolean> {
  const { wireguard } = domain.interfaces;
  const r = await runner.run(wg.publicKey(wireguard), { readOnly: true });
  const running = r.stdout.trim();
  if (r.code === 0 && isPublicKey(running) && running !== publicKey) {
    throw new ProvisionError(
      `domains.${domain.name}.private_key_file ${domain.private_key_file} gives public key ${publicKey}, but ${wireguard} runs with ${running}: setting it would change this gateway's key and break every router's tunnel. ${privateKeyAdvice(domain.private_key_file, wireguard, true).replace(/^[^:]*: /, "")} (to change the key on purpose, delete the interface first: ip link del ${wireguard})`,
    );
  }
  return r.code === 0;
}

/**
 * Create or repair one domain's interfaces; safe to run again and again. Touches only
 * wg-/vx-/bat-/br-<suffix> of this domain. A Parker domain has the WireGuard interface
 * only, with the concentrator's next-hop addresses on it.
 */
export async function provisionDomain(
  runner: CommandRunner,
  config: AgentConfig,
  domain: DomainConfig,
  programmer: PeerProgrammer,
  options: ProvisionOptions,
): Promise<ProvisionResult> {
  const { logger } = options;
  const { wireguard: wgIf, vxlan: vxIf, batman: batIf, bridge: brIf } = domain.interfaces;
  const identity = ownIdentity(domain, options.readFile);
  const { publicKey } = identity;
  // Parker: the nodes' IPv6 next hop is configured (fe80::1), not derived from the key.
  const address = domain.parker?.address6 ?? identity.address;
  const problems: string[] = [];
  let created = false;

  // WireGuard interface.
  const existing = await linkInfo(runner, wgIf);
  if (config.wireguard.implementation === "kernel") {
    if (existing && existing.kind !== "wireguard") {
      throw new ProvisionError(
        `${wgIf} exists but is a ${existing.kind ?? "unknown"} interface, not kernel WireGuard: remove it (ip link del ${wgIf}) or set interface_suffix`,
      );
    }
    if (existing) await keepRunningKey(runner, domain, publicKey);
    if (!existing) {
      const r = await runner.run(ip.linkAddWireguard(wgIf));
      if (r.code !== 0) {
        throw new ProvisionError(
          `cannot create ${wgIf}: ${r.stderr.trim()}. Kernel WireGuard is missing: load it (\`modprobe wireguard\`, Linux ≥ 5.6) or set wireguard: { implementation: userspace, command: [wireguard-go, -f] }`,
        );
      }
      created = true;
    }
  } else {
    let alive = false;
    if (existing) {
      alive = await keepRunningKey(runner, domain, publicKey);
      if (!alive) {
        logger.warn("userspace WireGuard interface without a daemon; recreating", { interface: wgIf });
        await mustRun(runner, ip.linkDel(wgIf));
      }
    }
    if (!alive) {
      const argv = [...config.wireguard.command, wgIf];
      let daemon: DaemonHandle;
      try {
        daemon = await runner.startDaemon(argv, options.daemonLog ? { logFile: options.daemonLog } : {});
      } catch (e) {
        throw new ProvisionError(`cannot start ${argv.join(" ")}: ${(e as Error).message} (install wireguard-go)`);
      }
      const deadline = Date.now() + (options.userspaceTimeoutMs ?? 5000);
      while (!daemon.planned) {
        if ((await runner.run(wg.publicKey(wgIf), { readOnly: true })).code === 0) break;
        if (Date.now() > deadline) throw new ProvisionError(`${argv.join(" ")} did not bring up ${wgIf} in time`);
        await new Promise((r) => setTimeout(r, 50));
      }
      created = true;
    }
  }
  // An interface that is already right (made by systemd-networkd, or by an earlier run) is
  // adopted as it is: no write that would change nothing, so nothing flaps and no event fires.
  const adopted = created ? undefined : existing;
  // No automatic (stable-privacy) link-local address: it would become the source address.
  if (adopted?.addrGenMode !== "none") await mustRun(runner, ip.addrgenmodeNone(wgIf));
  await mustRun(runner, wg.setKeyPort(wgIf, domain.private_key_file, domain.listen_port));
  let hasAddress = false;
  const addrs = await runner.run(ip.addrShow6(wgIf), { readOnly: true });
  if (addrs.code === 0 && addrs.stdout.trim()) {
    try {
      const parsed = JSON.parse(addrs.stdout) as Array<{
        addr_info?: Array<{ local?: string; prefixlen?: number; scope?: string }>;
      }>;
      for (const info of parsed[0]?.addr_info ?? []) {
        if (info.local === address && info.prefixlen === 128) hasAddress = true;
        else if (info.scope === "link" && info.local && info.local !== address) {
          await runner.run(ip.addrDel(wgIf, `${info.local}/${info.prefixlen ?? 64}`));
        }
      }
    } catch {
      // unreadable: nothing to clean
    }
  }
  if (!hasAddress) await mustRun(runner, ip.addrReplace(wgIf, address));
  if (!(adopted?.up && adopted.mtu === domain.mtu)) await mustRun(runner, ip.mtuUp(wgIf, domain.mtu));
  const withoutPeers = created || (await hasNoNodePeers(runner, wgIf, domain));
  if (domain.parker !== undefined) {
    await mustRun(runner, parker.addr4Replace(wgIf, domain.parker.address4));
    return { created, withoutPeers, publicKey, address, problems, batman: false, address4: domain.parker.address4 };
  }

  // VXLAN over WireGuard.
  const vx = await linkInfo(runner, vxIf);
  const vxOk =
    vx &&
    vx.kind === "vxlan" &&
    vx.data.id === domain.vniResolved &&
    vx.data.local6 === address &&
    vx.data.port === VXLAN_PORT &&
    vx.data.link === wgIf;
  if (vx && !vxOk) {
    logger.warn("VXLAN interface has other settings; recreating", { interface: vxIf, found: vx.data });
    await mustRun(runner, ip.linkDel(vxIf));
  }
  // The MAC is the gateway's batman-adv originator address and what routers' neighbour caches
  // know: a recreated interface (reboot) gets the one it had (kept in the agent's state), else
  // one derived from key and VNI. An adopted VXLAN keeps its own (systemd-networkd's is stable
  // too); changing it would make the gateway a new originator for every node.
  const remembered = options.vxlanMac?.toLowerCase();
  const ownMac =
    remembered && UNICAST_MAC.test(remembered) && remembered !== ZERO_MAC
      ? remembered
      : stableMac(`${publicKey} ${domain.vniResolved}`);
  if (!vxOk) {
    await mustRun(runner, ip.linkAddVxlan(vxIf, domain.vniResolved, address, wgIf));
    await mustRun(runner, ip.setAddress(vxIf, ownMac));
  }
  const vxlanMac = vxOk && vx.address ? vx.address : ownMac;
  if (!(vxOk && vx.up)) await mustRun(runner, ip.up(vxIf));

  // batman-adv and bridge.
  let batmanReady = false;
  if (domain.batman.enabled) {
    const b = domain.batman;
    const bat = await linkInfo(runner, batIf);
    let usable = bat !== undefined;
    if (!usable) {
      const r = await runner.run(batctl.create(batIf, b.routing_algo));
      usable = r.code === 0;
      if (!usable) problems.push(batmanProblem(r.stderr, r.code) ?? `cannot create ${batIf}: ${r.stderr.trim()}`);
    }
    if (usable) {
      const hardif = vxOk && vx?.master === batIf;
      const steps = [
        ...(hardif ? [] : [batctl.addHardif(batIf, vxIf)]),
        ...(b.throughput_override ? [batctl.throughputOverride(vxIf, b.throughput_override)] : []),
        batctl.gwMode(batIf, b.gw_mode),
        ...(b.hop_penalty !== undefined ? [batctl.hopPenalty(batIf, b.hop_penalty)] : []),
        ...(bat?.up ? [] : [ip.up(batIf)]),
      ];
      for (const argv of steps) {
        const r = await runner.run(argv);
        if (r.code !== 0 && !/exists|already/i.test(r.stderr)) {
          problems.push(batmanProblem(r.stderr, r.code) ?? `${argv.join(" ")}: ${r.stderr.trim()}`);
        }
      }
      if (b.bridge) {
        const br = await linkInfo(runner, brIf);
        if (!br) await mustRun(runner, ip.linkAddBridge(brIf));
        if (bat?.master !== brIf) await mustRun(runner, ip.master(batIf, brIf));
        if (!br?.up) await mustRun(runner, ip.up(brIf));
      }
      batmanReady = problems.length === 0;
    }
  }

  // Static peers: the other gateways, with route and FDB entry like nodes.
  const staticLls: string[] = [];
  for (const peer of domain.static_peers) {
    const ll = linkLocal(peer.public_key, domain.variant);
    const r = await runner.run(wg.setStaticPeer(wgIf, peer.public_key, ll, peer.endpoint, peer.persistent_keepalive));
    if (r.code !== 0) problems.push(`static peer ${peer.name}: ${r.stderr.trim()}`);
    else staticLls.push(ll);
  }
  if (staticLls.length > 0) {
    const failed = await programmer.routesAndFdb({ addRoutes: staticLls, addFdb: staticLls });
    for (const f of failed) problems.push(`static peer route/FDB ${f.public_key}: ${f.reason}`);
  }
  for (const problem of [...new Set(problems)]) logger.error(problem, { domain: domain.name });
  return { created, withoutPeers, publicKey, address, problems: [...new Set(problems)], batman: batmanReady, vxlanMac };
}

/** No peer but the other gateways on an existing interface; false when it cannot be read. */
async function hasNoNodePeers(runner: CommandRunner, wgIf: string, domain: DomainConfig): Promise<boolean> {
  const r = await runner.run(wg.show(wgIf), { readOnly: true });
  if (r.code !== 0) return false;
  const statics = new Set(domain.static_peers.map((p) => p.public_key));
  return parseWgDump(r.stdout).peers.every((p) => statics.has(p.key));
}
