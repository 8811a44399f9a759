import { readFileSync } from "node:fs";
import type { RecordedCall } from "../src/commands/recording-runner.ts";
import { RecordingRunner } from "../src/commands/recording-runner.ts";
import {
  type CommandResult,
  type CommandRunner,
  type DaemonHandle,
  fail,
  ok,
  type RunOptions,
} from "../src/commands/runner.ts";
import { publicKeyFromPrivate } from "../src/keys.ts";

/** A link as the simulated kernel keeps it. */
export interface SimLink {
  kind: string;
  data: Record<string, unknown>;
  up?: boolean;
  master?: string | undefined;
  mac?: string;
  addresses?: string[];
  /** WireGuard links: the public key of the private key set on them, and the port. */
  publicKey?: string;
  listenPort?: number;
}

export interface SimPeer {
  allowed: string[];
  handshake: number;
  /** The WireGuard interface the peer is on. */
  dev: string;
}

/**
 * A simulated host: understands exactly the commands the agent issues (wg, ip, bridge) and
 * keeps links, peers, routes and FDB entries in memory. Tests drive it through a recording
 * runner (`runner`, every argv kept for assertions); benchmarks through `SimHostRunner`,
 * which keeps no call log.
 */
export class SimHost {
  readonly links = new Map<string, SimLink>();
  /** Public key -> peer (keys are unique across a gateway's domains). */
  readonly peers = new Map<string, SimPeer>();
  readonly routes = new Map<string, Set<string>>(); // dev -> dst
  readonly fdb = new Map<string, Set<string>>(); // vx -> dst
  failKeys = new Set<string>();
  failBatches = false;
  readonly runner = new RecordingRunner();

  constructor() {
    this.runner.use((call) => this.handle(call));
  }

  /**
   * `ip link del` as the kernel does it, behind the agent's back: the link's peers, routes
   * and FDB entries go with it, and so do VXLAN links on top of it; ports lose their master.
   * Link monitors (`ip -o monitor link`) hear of every link that went.
   */
  deleteLink(name: string): void {
    if (!this.links.delete(name)) return;
    this.runner.emit(`Deleted 9: ${name}: <POINTOPOINT,NOARP> mtu 1420 qdisc noqueue state DOWN`);
    for (const [key, peer] of this.peers) if (peer.dev === name) this.peers.delete(key);
    this.routes.delete(name);
    this.fdb.delete(name);
    for (const [other, link] of [...this.links]) {
      if (link.master === name) link.master = undefined;
      if (link.kind === "vxlan" && link.data.link === name) this.deleteLink(other);
    }
  }

  /** `bridge fdb flush dev <vx>` behind the agent's back; FDB monitors hear of each entry. */
  flushFdb(vx: string): void {
    for (const dst of this.fdb.get(vx) ?? [])
      this.runner.emit(`Deleted 00:00:00:00:00:00 dev ${vx} dst ${dst} self permanent`);
    this.fdb.get(vx)?.clear();
  }

  /** Create a WireGuard link with nothing on it, up, as systemd-networkd would. */
  addEmptyWireguard(name: string): void {
    this.links.set(name, { kind: "wireguard", data: {}, up: true });
    this.runner.emit(`9: ${name}: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu 1420 qdisc noqueue state UNKNOWN`);
  }

  handle(call: RecordedCall) {
    const a = call.argv;
    const j = a.join(" ");
    if (call.daemon) {
      this.links.set(a[a.length - 1]!, { kind: "tun", data: {} });
      return ok();
    }
    if (j === "ip -d -j link show") {
      return ok(
        JSON.stringify(
          [...this.links].map(([ifname, l]) => ({
            ifname,
            flags: l.up ? ["UP", "LOWER_UP"] : [],
            ...(l.master ? { master: l.master } : {}),
            ...(l.mac ? { address: l.mac } : {}),
            linkinfo: { info_kind: l.kind, info_data: l.data },
          })),
        ),
      );
    }
    if (j.startsWith("ip -d -j link show dev ")) {
      const l = this.links.get(a[6]!);
      return l
        ? ok(
            JSON.stringify([
              { ...(l.mac ? { address: l.mac } : {}), linkinfo: { info_kind: l.kind, info_data: l.data } },
            ]),
          )
        : fail(`Device "${a[6]}" does not exist.`);
    }
    if (j.startsWith("ip link set dev ")) {
      const l = this.links.get(a[4]!);
      if (!l) return fail(`Cannot find device "${a[4]}"`);
      for (let i = 5; i < a.length; i++) {
        if (a[i] === "up") l.up = true;
        else if (a[i] === "master") l.master = a[++i];
        else if (a[i] === "address") l.mac = a[++i];
        else if (a[i] === "mtu" || a[i] === "addrgenmode") i++;
      }
      return ok();
    }
    if (j.startsWith("ip -6 addr replace ")) {
      const l = this.links.get(a[6]!);
      if (!l) return fail(`Cannot find device "${a[6]}"`);
      const address = a[4]!.replace(/\/\d+$/, "");
      l.addresses = [...new Set([...(l.addresses ?? []), address])];
      return ok();
    }
    if (j.startsWith("ip -6 -j addr show dev ")) {
      const l = this.links.get(a[6]!);
      if (!l) return fail(`Device "${a[6]}" does not exist.`);
      return ok(
        JSON.stringify([
          { ifname: a[6], addr_info: (l.addresses ?? []).map((local) => ({ local, prefixlen: 128, scope: "link" })) },
        ]),
      );
    }
    if (a[0] === "batctl" && a[1] === "meshif" && a[3] === "interface") {
      if (a[4] === "create") this.links.set(a[2]!, { kind: "batadv", data: {} });
      else if (a[5] === "add") {
        const port = this.links.get(a[6]!);
        if (port) port.master = a[2];
      }
      return ok();
    }
    if (j.startsWith("ip link add dev ")) {
      const kind = a[6]!;
      const data: Record<string, unknown> =
        kind === "vxlan" ? { id: Number(a[8]), local6: a[10], port: Number(a[12]), link: a[14] } : {};
      this.links.set(a[4]!, { kind, data });
      return ok();
    }
    if (j.startsWith("ip link del dev ")) {
      this.links.delete(a[4]!);
      return ok();
    }
    if (a[0] === "wg" && a[1] === "show") {
      if (!this.links.has(a[2]!)) return fail("Unable to access interface: No such device");
      const link = this.links.get(a[2]!)!;
      if (a[3] === "public-key") return ok(`${link.publicKey ?? "(none)"}\n`);
      const lines = [`(hidden)\t${link.publicKey ?? "(none)"}\t${link.listenPort ?? 0}\toff`];
      for (const [k, p] of this.peers) {
        if (p.dev === a[2])
          lines.push(`${k}\t(none)\t(none)\t${p.allowed.join(",") || "(none)"}\t${p.handshake}\t0\t0\toff`);
      }
      return ok(`${lines.join("\n")}\n`);
    }
    if (a[0] === "wg" && a[1] === "set") {
      if (this.failBatches && a.length > 8) return fail("Unable to modify interface: Invalid argument");
      if (a.length > 8 && a.some((x) => this.failKeys.has(x)))
        return fail("Unable to modify interface: Invalid argument");
      for (let i = 3; i < a.length; ) {
        if (a[i] === "private-key" || a[i] === "listen-port") {
          const link = this.links.get(a[2]!);
          if (!link) return fail("Unable to modify interface: No such device");
          if (a[i] === "listen-port") link.listenPort = Number(a[i + 1]);
          else link.publicKey = publicKeyFromPrivate(readFileSync(a[i + 1]!, "utf8"));
          i += 2;
        } else if (a[i] === "peer") {
          const key = a[i + 1]!;
          if (this.failKeys.has(key)) return fail("Unable to modify interface: Invalid argument");
          if (a[i + 2] === "remove") {
            this.peers.delete(key);
            i += 3;
            continue;
          }
          const p = this.peers.get(key) ?? { allowed: [], handshake: 0, dev: a[2]! };
          this.peers.set(key, p);
          i += 2;
          while (i < a.length && a[i] !== "peer") {
            if (a[i] === "allowed-ips") p.allowed = a[i + 1]!.split(",");
            i += 2;
          }
        } else i += 2;
      }
      return ok();
    }
    // batman-adv domains: fe80 host routes, kept without their /128.
    if (j === "ip -6 -force -batch -") return this.#routeBatch(call, (dst) => dst.replace("/128", ""));
    if (a[0] === "ip" && a[2] === "route" && (a[3] === "replace" || a[3] === "del")) {
      const set = this.routes.get(a[6]!) ?? new Set<string>();
      this.routes.set(a[6]!, set);
      if (a[3] === "replace") set.add(a[4]!.replace("/128", ""));
      else set.delete(a[4]!.replace("/128", ""));
      return ok();
    }
    // Parker: routes of whole ranges, either family, kept with their length.
    if (j === "ip -force -batch -") return this.#routeBatch(call, (dst) => dst);
    if (a[0] === "ip" && a[1] === "route" && (a[2] === "replace" || a[2] === "del")) {
      const set = this.routes.get(a[5]!) ?? new Set<string>();
      this.routes.set(a[5]!, set);
      if (a[2] === "replace") set.add(a[3]!);
      else if (!set.delete(a[3]!)) return fail("RTNETLINK answers: No such process");
      return ok();
    }
    if (j.startsWith("ip -4 -j route show dev ")) {
      const v4 = [...(this.routes.get(a[6]!) ?? [])].filter((dst) => !dst.includes(":"));
      return ok(JSON.stringify(v4.map((dst) => ({ dst, protocol: "boot" }))));
    }
    if (j.startsWith("ip -6 -j route show dev ")) {
      const v6 = [...(this.routes.get(a[6]!) ?? [])].filter((dst) => dst.includes(":"));
      return ok(JSON.stringify(v6.map((dst) => ({ dst, metric: 1024 }))));
    }
    if (j === "bridge -force -batch -") {
      if (this.failBatches) return fail("Segmentation fault", 139);
      for (const line of (call.stdin ?? "").split("\n").filter(Boolean)) {
        const f = line.split(" ");
        const set = this.fdb.get(f[4]!) ?? new Set<string>();
        this.fdb.set(f[4]!, set);
        if (f[1] === "append") set.add(f[6]!);
        else set.delete(f[6]!);
      }
      return ok();
    }
    if (a[0] === "bridge" && a[1] === "fdb" && (a[2] === "append" || a[2] === "del")) {
      const set = this.fdb.get(a[5]!) ?? new Set<string>();
      this.fdb.set(a[5]!, set);
      if (a[2] === "append") set.add(a[7]!);
      else set.delete(a[7]!);
      return ok();
    }
    if (j.startsWith("bridge -j fdb show dev ")) {
      return ok(
        JSON.stringify(
          [...(this.fdb.get(a[5]!) ?? [])].map((dst) => ({
            mac: "00:00:00:00:00:00",
            dst,
            viaIf: a[5]!.replace(/^vx-/, "wg-"),
            state: "permanent",
          })),
        ),
      );
    }
    return undefined;
  }

  /** `ip [-6] -force -batch -` with `route replace|del <dst> dev <dev>` lines, as ip reports failures. */
  #routeBatch(call: RecordedCall, key: (dst: string) => string): CommandResult {
    if (this.failBatches) return fail("Segmentation fault", 139);
    const errors: string[] = [];
    (call.stdin ?? "")
      .split("\n")
      .filter(Boolean)
      .forEach((line, i) => {
        const [, op, dst, , dev] = line.split(" ");
        const set = this.routes.get(dev!) ?? new Set<string>();
        this.routes.set(dev!, set);
        if (op === "replace") set.add(key(dst!));
        else if (!set.delete(key(dst!))) errors.push(`RTNETLINK answers: No such process\nCommand failed -:${i + 1}`);
      });
    return errors.length ? { code: 1, stdout: "", stderr: errors.join("\n") } : ok();
  }
}

/** The simulated host as a command runner that keeps no call log (benchmarks, big sets). */
export class SimHostRunner implements CommandRunner {
  readonly host: SimHost;
  spawns = 0;

  constructor(host = new SimHost()) {
    this.host = host;
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    this.spawns++;
    return this.host.handle({ argv, stdin: options.stdin }) ?? ok();
  }

  async startDaemon(argv: readonly string[]): Promise<DaemonHandle> {
    this.spawns++;
    this.host.handle({ argv, stdin: undefined, daemon: true });
    return { pid: undefined, exited: new Promise<number>(() => {}), kill() {} };
  }
}
