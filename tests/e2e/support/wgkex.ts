/**
 * The system being replaced, as far as the migration test needs it (wgkex-facts.md §3):
 * gateways whose interfaces the community's own configuration made (systemd-networkd in
 * production), and a minimal stand-in for wgkex's worker, which installs every registered
 * key on every gateway of the domain (its broker published each key to every worker over
 * MQTT). It is the other system, not ours: its commands are written here from the facts,
 * not taken from the agent.
 */
import path from "node:path";
import { GATEWAY_PORT, type Gateway, inNs, linkLocalOf, VNI, type World } from "./world.ts";

/** The overlay address each gateway carries on its vx interface (the same on every gateway: nodes reach "their" one). */
export const GATEWAY_OVERLAY = "fd77:e2e::1";

/** wg-/vx- of a gateway as networkd makes them before wgkex's worker adds peers. */
export function wgkexInterfaces(world: World, gw: Gateway): void {
  const keyFile = path.join(world.dir, `${gw.name}.key`); // written with the agent's configuration
  inNs(gw.ns, ["wireguard-go", gw.wgIf]); // forks into the background once the interface exists
  inNs(gw.ns, ["ip", "link", "set", gw.wgIf, "addrgenmode", "none"]);
  inNs(gw.ns, ["wg", "set", gw.wgIf, "private-key", keyFile, "listen-port", String(GATEWAY_PORT)]);
  inNs(gw.ns, ["ip", "-6", "addr", "add", `${gw.ll}/128`, "dev", gw.wgIf]);
  inNs(gw.ns, ["ip", "link", "set", gw.wgIf, "mtu", "1420", "up"]);
  inNs(gw.ns, [
    "ip",
    "link",
    "add",
    gw.vxIf,
    "type",
    "vxlan",
    "id",
    String(VNI),
    "local",
    gw.ll,
    "dstport",
    "8472",
    "dev",
    gw.wgIf,
  ]);
  inNs(gw.ns, ["ip", "link", "set", gw.vxIf, "up"]);
  overlayAddress(gw);
  // The other gateways are static peers on the same interface, set up like nodes.
  for (const other of world.gateways) if (other !== gw) programPeer(gw, other.publicKey);
}

/** The gateway's overlay address: host configuration, not the agent's (re-added after a reboot). */
export function overlayAddress(gw: Gateway): void {
  inNs(gw.ns, ["ip", "-6", "addr", "add", `${GATEWAY_OVERLAY}/64`, "dev", gw.vxIf, "nodad"]);
}

/** What wgkex's worker does for one key (wgkex-facts.md §3): peer, route, all-zero FDB entry. */
function programPeer(gw: Gateway, key: string): void {
  const ll = linkLocalOf(key);
  inNs(gw.ns, ["wg", "set", gw.wgIf, "peer", key, "allowed-ips", `${ll}/128`]);
  inNs(gw.ns, ["ip", "-6", "route", "replace", `${ll}/128`, "dev", gw.wgIf]);
  inNs(gw.ns, ["bridge", "fdb", "append", "00:00:00:00:00:00", "dev", gw.vxIf, "dst", ll, "via", gw.wgIf]);
}

/**
 * wgkex's broker and workers, reduced to what a router sees: an exchange that answers OK and
 * installs the key on every gateway while the workers run; nothing once they are retired.
 */
export class WgkexWorkers {
  #running = true;
  readonly #gateways: readonly Gateway[];

  constructor(gateways: readonly Gateway[]) {
    this.#gateways = gateways;
  }

  get running(): boolean {
    return this.#running;
  }

  /** A router's v1 exchange at the old broker: every gateway's worker installs the key. */
  exchange(key: string): void {
    if (!this.#running) throw new Error("wgkex's workers are retired: nobody would install the key");
    for (const gw of this.#gateways) programPeer(gw, key);
  }

  retire(): void {
    this.#running = false;
  }

  /** Rollback: the workers run again. */
  start(): void {
    this.#running = true;
  }
}
