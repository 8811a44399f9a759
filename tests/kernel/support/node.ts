/**
 * A Gluon-like node inside the guest: namespace nK, built as the firmware builds its mesh VPN
 * (`ffmuc-mesh-vpn-wireguard-vxlan`, wgkex-facts.md §5):
 *
 * - the v2 registration with busybox wget (form content type, the exact body text);
 * - kernel WireGuard `mesh-vpn`: addrgenmode none, its derived link-local /64, peer = the gateway
 *   from the v2 answer, keepalive 25, allowed-ips <gw ll>/128, mtu 1420;
 * - VXLAN `mesh-vxlan` id <VNI> local <own ll> remote <gw ll> dstport 8472 over it;
 * - `bat0` (batman-adv, same routing algorithm, gw_mode client) over the VXLAN;
 * - `br-client` bridging bat0 and the clients, as Gluon's br-client does: one client namespace
 *   cK behind a veth, with an address in the mesh prefix.
 *
 * The underlay is a veth to the guest's root namespace (10.214.K.0/24), which routes to the
 * gateway's own address and, through the tap, to the edge relay.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { DOMAIN, genKeyPair, linkLocalOf, type V2Endpoint, VNI } from "../../e2e/support/world.ts";
import { HOST_ADDR, MESH_PREFIX, RELAY_PORT, ROUTING_ALGO } from "./constants.ts";
import type { WorldContext } from "./context.ts";

export class KernelNode {
  readonly index: number;
  readonly ns: string;
  readonly clientNs: string;
  readonly publicKey: string;
  readonly ll: string;
  /** The client's address in the mesh prefix. */
  readonly clientAddress: string;
  readonly #world: WorldContext;
  readonly #keyFile: string;

  private constructor(world: WorldContext, index: number) {
    this.#world = world;
    this.index = index;
    this.ns = `n${index}`;
    this.clientNs = `c${index}`;
    const keys = genKeyPair();
    this.publicKey = keys.publicKey;
    this.ll = linkLocalOf(keys.publicKey);
    this.clientAddress = `${MESH_PREFIX}c:${index}`;
    this.#keyFile = path.join(world.dir, `node${index}.key`);
    writeFileSync(this.#keyFile, `${keys.privateKey}\n`, { mode: 0o600 });
  }

  /** Namespaces and the underlay (one round trip). */
  static async create(world: WorldContext, index: number): Promise<KernelNode> {
    const node = new KernelNode(world, index);
    const { ns, clientNs } = node;
    const up = `${ns}-u`;
    await world.guest.script([
      ["ip", "netns", "add", ns],
      ["ip", "netns", "add", clientNs],
      ["ip", "-n", ns, "link", "set", "lo", "up"],
      ["ip", "-n", clientNs, "link", "set", "lo", "up"],
      ["ip", "link", "add", up, "type", "veth", "peer", "name", "u0", "netns", ns],
      ["ip", "addr", "add", `10.214.${index}.1/24`, "dev", up],
      ["ip", "link", "set", up, "up"],
      ["ip", "-n", ns, "addr", "add", `10.214.${index}.2/24`, "dev", "u0"],
      ["ip", "-n", ns, "link", "set", "u0", "up"],
      ["ip", "-n", ns, "route", "add", "default", "via", `10.214.${index}.1`],
    ]);
    return node;
  }

  /** The firmware's v2 request from inside the node: busybox wget, under `timeout` (no -T). */
  async register(): Promise<V2Endpoint> {
    const body = `{"domain": "${DOMAIN}","public_key": "${this.publicKey}"}`;
    const url = `http://${HOST_ADDR}:${RELAY_PORT}/api/v2/wg/key/exchange`;
    const out = await this.#world.guest.sh([
      ...["ip", "netns", "exec", this.ns, "timeout", "60"],
      ...["/bin/busybox", "wget", "-q", "-O-", "--post-data", body, url],
    ]);
    return (JSON.parse(out) as { Endpoint: V2Endpoint }).Endpoint;
  }

  /** The mesh VPN as Gluon builds it, then batman-adv and br-client with one client behind it. */
  async connect(endpoint: V2Endpoint): Promise<void> {
    const { ns, clientNs } = this;
    const n = (...argv: string[]) => ["ip", "-n", ns, ...argv];
    const x = (...argv: string[]) => ["ip", "netns", "exec", ns, ...argv];
    const gwLl = endpoint.AllowedIPs[0]!;
    await this.#world.guest.script([
      n("link", "add", "mesh-vpn", "type", "wireguard"),
      n("link", "set", "mesh-vpn", "addrgenmode", "none"),
      n("addr", "add", `${this.ll}/64`, "dev", "mesh-vpn", "nodad"),
      x(
        ...["wg", "set", "mesh-vpn", "private-key", this.#keyFile],
        ...["peer", endpoint.PublicKey, "persistent-keepalive", "25", "allowed-ips", `${gwLl}/128`],
        ...["endpoint", `${endpoint.Address}:${endpoint.Port}`],
      ),
      n("link", "set", "mesh-vpn", "mtu", "1420", "up"),
      n(
        ...["link", "add", "mesh-vxlan", "type", "vxlan", "id", String(VNI)],
        ...["local", this.ll, "remote", gwLl, "dstport", "8472", "dev", "mesh-vpn"],
      ),
      n("link", "set", "mesh-vxlan", "up"),
      x("batctl", "meshif", "bat0", "interface", "create", "routing_algo", ROUTING_ALGO),
      x("batctl", "meshif", "bat0", "interface", "add", "mesh-vxlan"),
      x("batctl", "meshif", "bat0", "gw_mode", "client"),
      n("link", "set", "bat0", "up"),
      n("link", "add", "br-client", "type", "bridge"),
      n("link", "set", "bat0", "master", "br-client"),
      n("link", "add", "client0", "type", "veth", "peer", "name", "eth0", "netns", clientNs),
      n("link", "set", "client0", "master", "br-client"),
      n("link", "set", "client0", "up"),
      n("link", "set", "br-client", "up"),
      ["ip", "-n", clientNs, "addr", "add", `${this.clientAddress}/64`, "dev", "eth0", "nodad"],
      ["ip", "-n", clientNs, "link", "set", "eth0", "up"],
    ]);
  }

  /** MAC of the node's batman-adv hard interface (its originator address in the mesh). */
  async originator(): Promise<string> {
    const out = await this.#world.guest.sh(["ip", "-n", this.ns, "-j", "link", "show", "mesh-vxlan"]);
    return (JSON.parse(out) as Array<{ address: string }>)[0]!.address;
  }

  /** Gateway originators in the node's `batctl gwl`. */
  async gateways(): Promise<string[]> {
    const r = await this.#world.guest.exec(["ip", "netns", "exec", this.ns, "batctl", "meshif", "bat0", "gwl", "-H"]);
    return [...r.stdout.matchAll(/([0-9a-f]{2}(?::[0-9a-f]{2}){5})/gm)].map((m) => m[1]!);
  }

  /**
   * IPv6 ping from the client behind the node until the first reply or `deadlineS`, in one round
   * trip. (Not `ping -c 1 -w N`: an "address unreachable" error counts as the one answer.)
   */
  async clientPing(target: string, deadlineS = 60): Promise<boolean> {
    const loop = `end=$((SECONDS+${deadlineS})); until ping -6 -n -c 1 -W 1 "$1" >/dev/null 2>&1; do [ $SECONDS -lt $end ] || exit 1; done`;
    const r = await this.#world.guest.exec(
      ["ip", "netns", "exec", this.clientNs, "bash", "-c", loop, "ping-until", target],
      { timeoutMs: (deadlineS + 30) * 1000 },
    );
    return r.code === 0;
  }

  async describe(): Promise<string> {
    const r = await this.#world.guest.exec([
      "sh",
      "-c",
      `ip netns exec ${this.ns} wg show; ip netns exec ${this.ns} batctl meshif bat0 o; ip netns exec ${this.ns} batctl meshif bat0 gwl; ip -n ${this.ns} -br addr`,
    ]);
    return `--- node ${this.index} (${this.ns})\n${r.stdout}${r.stderr}`;
  }
}
