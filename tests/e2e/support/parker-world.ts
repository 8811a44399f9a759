/**
 * A Parker world in network namespaces (docs/parker.md):
 *
 *   host ──cl── node ══ WireGuard over the underlay ══ gw01 ──up── inet
 *   (in the node's      (the Parker test node:          (wgkex-agent,    (behind the
 *    routed prefix)      fetches, verifies, applies)     mode: parker)    gateway)
 *
 * The edge is the Worker bundle in workerd (EdgeProcess) with the Parker section and the
 * facts' signing key; the gateway runs the real agent bundle; the node runs the test node
 * of `@wgkex-edge/shared/testing/parker-node` and applies what it decided with real
 * wireguard-go, `wg` and `ip`, then sets the routes noderoute sets. The node's tunnel is
 * `wg_c<id>` in the client; here it gets a name unique to the world (wireguard-go's control
 * socket lives in the shared /var/run/wireguard).
 */

import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type CycleOutcome, ParkerNode, type TunnelChange } from "@wgkex-edge/shared/testing/parker-node";
import vectors from "@wgkex-edge/shared/testing/parker-vectors.json" with { type: "json" };
import {
  ADMIN_TOKEN,
  cleanLeftovers,
  destroyNamespace,
  EdgeProcess,
  ensureAgentBundle,
  freePort,
  Gateway,
  genKeyPair,
  inNs,
  sh,
} from "./world.ts";

export const PARKER_DOMAIN = "ffmuc_parker";
export const POOL6 = "fd00:e2e:100::/56";
export const POOL4 = "10.99.0.0/16";
/** The concentrator's IPv4 next hop for nodes (outside the pools and the underlay). */
export const CONCENTRATOR4 = "10.98.0.1";
export const INET6 = "fd99::2";
export const INET4 = "10.97.0.2";
const PORT = 51820;

/** gw01 as a Parker concentrator: the same agent process, a Parker domain in its config. */
class ParkerGateway extends Gateway {
  writeParkerConfig(world: ParkerWorld): void {
    const { keyFile, head } = this.commonConfig(world);
    writeFileSync(
      this.configFile,
      // Live keys every 2 s (default 5 min): the node's handshake confirms its allocation within the test.
      `${head}reports: { live_interval_s: 2 }
domains:
  ${PARKER_DOMAIN}:
    mode: parker
    listen_port: ${PORT}
    private_key_file: ${keyFile}
    interface_suffix: ${this.wgIf.slice(3)}
    parker: { pools: [${POOL6}, ${POOL4}], address4: ${CONCENTRATOR4} }
`,
    );
  }

  /** The node's ranges as the gateway has them: peer allowed-ips and routes on wg-…. */
  routedRanges(): { allowedIps: Map<string, string>; routes: string[] } {
    const allowedIps = new Map([...this.peers()].map(([k, p]) => [k, p.allowedIps]));
    const routes = [4, 6].flatMap((family) =>
      (
        JSON.parse(inNs(this.ns, ["ip", `-${family}`, "-j", "route", "show", "dev", this.wgIf]) || "[]") as Array<{
          dst: string;
        }>
      ).map((r) => r.dst),
    );
    return { allowedIps, routes };
  }
}

export class ParkerNodeHost {
  readonly ns: string;
  readonly hostNs: string;
  readonly address = "10.213.2.1";
  readonly privateKey: string;
  readonly publicKey: string;
  readonly client: ParkerNode;
  readonly #world: ParkerWorld;
  readonly #keyFile: string;

  constructor(world: ParkerWorld) {
    this.#world = world;
    this.ns = `${world.id}-node`;
    this.hostNs = `${world.id}-host`;
    const k = genKeyPair();
    this.privateKey = k.privateKey;
    this.publicKey = k.publicKey;
    this.#keyFile = path.join(world.dir, "node.key");
    writeFileSync(this.#keyFile, `${k.privateKey}\n`, { mode: 0o600 });
    this.client = new ParkerNode({
      flavour: "upstream",
      configServer: world.edge.url.host,
      configPubkey: vectors.key.signify_public_key,
      publicKey: k.publicKey,
      v6mtu: 1500,
    });
  }

  /** The real interface for the client's `wg_c<id>`. */
  iface(clientName: string): string {
    return `${clientName.replace("wg_c", "c")}-${this.#world.tag}`;
  }

  /** nodeconfig.lua's commands for what the client decided, on real interfaces. */
  apply(outcome: CycleOutcome): void {
    if (outcome.kind !== "applied") return;
    const config = outcome.config;
    for (const change of outcome.changes) this.#apply(change);
    // noderoute.lua: the default routes via the tunnel, the client net on cl0, forwarding.
    const conc = (config.concentrators as Array<{ id: number; address4: string; address6: string }>)[0]!;
    const dev = this.iface(`wg_c${conc.id}`);
    inNs(this.ns, ["ip", "-6", "route", "replace", "default", "via", conc.address6, "dev", dev]);
    inNs(this.ns, ["ip", "-4", "route", "replace", "default", "via", conc.address4, "dev", dev]);
    const len4 = String(config.range4).split("/")[1]!;
    inNs(this.ns, ["ip", "-6", "addr", "replace", `${config.address6}/64`, "dev", "cl0", "nodad"]);
    inNs(this.ns, ["ip", "-4", "addr", "replace", `${config.address4}/${len4}`, "dev", "cl0"]);
  }

  #apply(change: TunnelChange): void {
    const ns = this.ns;
    const dev = this.iface(change.iface);
    switch (change.op) {
      case "create":
        inNs(ns, ["wireguard-go", dev]);
        inNs(ns, ["ip", "link", "set", "dev", dev, "mtu", String(change.mtu)]);
        inNs(ns, [
          "wg",
          "set",
          dev,
          "private-key",
          this.#keyFile,
          "peer",
          change.peer.pubkey,
          "endpoint",
          change.peer.endpoint,
          "persistent-keepalive",
          String(change.peer.keepalive),
          "allowed-ips",
          change.peer.allowedIps.join(","),
        ]);
        inNs(ns, ["ip", "link", "set", "up", "dev", dev]);
        return;
      case "address4":
        inNs(ns, ["ip", "-4", "addr", "flush", "dev", dev, "scope", "global"]);
        inNs(ns, ["ip", "-4", "addr", "add", `${change.address}/32`, "peer", change.peer, "dev", dev]);
        return;
      case "address6":
        inNs(ns, ["ip", "-6", "addr", "flush", "dev", dev, "scope", "global"]);
        inNs(ns, ["ip", "-6", "addr", "replace", `${change.address}/128`, "peer", change.peer, "dev", dev]);
        return;
      case "delete":
        inNs(ns, ["ip", "link", "del", "dev", dev]);
        return;
      default:
        throw new Error(`the e2e node does not apply ${change.op} (not expected in this scenario)`);
    }
  }

  /** A host in the node's routed prefix: range6::2 and range4 .2 behind cl0. */
  addHost(config: { range6?: unknown; range4?: unknown; address6?: unknown; address4?: unknown }): {
    v6: string;
    v4: string;
  } {
    const v6 = `${String(config.range6).split("/")[0]}2`;
    const [net4, len4] = String(config.range4).split("/") as [string, string];
    const v4 = net4.replace(/\.0$/, ".2");
    inNs(this.hostNs, ["ip", "-6", "addr", "add", `${v6}/64`, "dev", "h0", "nodad"]);
    inNs(this.hostNs, ["ip", "-4", "addr", "add", `${v4}/${len4}`, "dev", "h0"]);
    inNs(this.hostNs, ["ip", "-6", "route", "add", "default", "via", String(config.address6)]);
    inNs(this.hostNs, ["ip", "-4", "route", "add", "default", "via", String(config.address4)]);
    return { v6, v4 };
  }

  latestHandshake(clientName: string): number {
    const line = inNs(this.ns, ["wg", "show", this.iface(clientName), "latest-handshakes"]).trim();
    return Number(line.split("\t")[1] ?? 0);
  }

  /** Stop the node's wireguard-go daemons and remove their control sockets. */
  teardown(): void {
    for (const line of sh(["ip", "-n", this.ns, "-o", "link", "show"]).split("\n")) {
      const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
      if (name?.endsWith(`-${this.#world.tag}`)) rmSync(`/var/run/wireguard/${name}.sock`, { force: true });
    }
  }
}

export class ParkerWorld {
  readonly id: string;
  readonly tag: string;
  readonly dir: string;
  readonly hub: string;
  readonly inet: string;
  edge!: EdgeProcess;
  gateway!: ParkerGateway;
  node!: ParkerNodeHost;
  readonly #namespaces: string[] = [];

  private constructor() {
    this.tag =
      `${(process.pid % 1296).toString(36).padStart(2, "0")}${randomBytes(1)[0]!.toString(36).padStart(2, "0")}`.slice(
        0,
        4,
      );
    this.id = `wgxp-${process.pid}-${this.tag}`;
    this.dir = path.join(tmpdir(), this.id);
    this.hub = `${this.id}-hub`;
    this.inet = `${this.id}-inet`;
  }

  static async create(): Promise<ParkerWorld> {
    cleanLeftovers("wgxp");
    await ensureAgentBundle();
    const world = new ParkerWorld();
    try {
      await world.#build();
    } catch (e) {
      await world.destroy();
      throw e;
    }
    return world;
  }

  async #build(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    this.#netns(this.hub);
    inNs(this.hub, ["ip", "link", "add", "br0", "type", "bridge"]);
    inNs(this.hub, ["ip", "link", "set", "br0", "up"]);
    this.gateway = new ParkerGateway(this, 1, genKeyPair());
    const keyFile = path.join(this.dir, "parker.sec");
    writeFileSync(keyFile, `untrusted comment: test key (parker-facts §5)\n${vectors.key.signify_secret_key}\n`, {
      mode: 0o600,
    });
    const config = {
      domains: [PARKER_DOMAIN],
      domain_prefixes: ["ffmuc_"],
      gateways: [{ name: "gw01", parker: { id: 1, endpoint4: this.gateway.address } }],
      parker: {
        domain: PARKER_DOMAIN,
        public_key: vectors.key.signify_public_key,
        ipv6: { pool: POOL6, length: 64 },
        ipv4: { pool: POOL4, length: 24 },
        retry_jitter_percent: 0,
      },
    };
    this.edge = new EdgeProcess(this.dir, await freePort(), config, false, ["--parker-key-file", keyFile]);
    const started = this.edge.start();

    // gateway, with the "internet" behind it
    this.#netns(this.gateway.ns);
    this.#underlay(this.gateway.ns, this.gateway.address);
    this.#netns(this.inet);
    this.#pair(this.gateway.ns, "up0", this.inet, "i0");
    inNs(this.gateway.ns, ["ip", "addr", "add", "fd99::1/64", "dev", "up0", "nodad"]);
    inNs(this.gateway.ns, ["ip", "addr", "add", "10.97.0.1/24", "dev", "up0"]);
    inNs(this.inet, ["ip", "addr", "add", `${INET6}/64`, "dev", "i0", "nodad"]);
    inNs(this.inet, ["ip", "addr", "add", `${INET4}/24`, "dev", "i0"]);
    inNs(this.inet, ["ip", "-6", "route", "add", POOL6, "via", "fd99::1"]);
    inNs(this.inet, ["ip", "-4", "route", "add", POOL4, "via", "10.97.0.1"]);
    this.#forwarding(this.gateway.ns);

    // node, with a host in its routed prefix behind it
    this.node = new ParkerNodeHost(this);
    this.#netns(this.node.ns);
    this.#underlay(this.node.ns, this.node.address);
    this.#netns(this.node.hostNs);
    this.#pair(this.node.ns, "cl0", this.node.hostNs, "h0");
    this.#forwarding(this.node.ns);

    await started;
    this.gateway.writeParkerConfig(this);
    await this.gateway.start();
  }

  #netns(ns: string): void {
    sh(["ip", "netns", "add", ns]);
    this.#namespaces.push(ns);
    inNs(ns, ["ip", "link", "set", "lo", "up"]);
  }

  #pair(a: string, aName: string, b: string, bName: string): void {
    sh(["ip", "link", "add", aName, "netns", a, "type", "veth", "peer", "name", bName, "netns", b]);
    inNs(a, ["ip", "link", "set", aName, "up"]);
    inNs(b, ["ip", "link", "set", bName, "up"]);
  }

  #underlay(ns: string, address: string): void {
    const port = `p${this.#namespaces.length}`;
    sh(["ip", "link", "add", "u0", "netns", ns, "type", "veth", "peer", "name", port, "netns", this.hub]);
    inNs(this.hub, ["ip", "link", "set", port, "master", "br0", "up"]);
    inNs(ns, ["ip", "addr", "add", `${address}/16`, "dev", "u0"]);
    inNs(ns, ["ip", "link", "set", "u0", "up"]);
  }

  #forwarding(ns: string): void {
    inNs(ns, ["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"]);
    inNs(ns, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
  }

  async destroy(): Promise<void> {
    await this.gateway?.crash().catch(() => {});
    await this.edge?.stop().catch(() => {});
    try {
      this.node?.teardown();
    } catch {
      // its namespace may not exist
    }
    for (const ns of [...this.#namespaces].reverse()) destroyNamespace(ns);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export { ADMIN_TOKEN };
