/**
 * The gateway of the kernel world: the guest's root namespace, managed by the real
 * `wgkex-agent run` bundle on the system Node (/usr/bin/node), kernel WireGuard and batman-adv as
 * FFMUC configures them. Everything asserted here is read from the kernel (`wg`, `ip`,
 * `batctl`, `bridge`), never from the agent's log; the log only tells when the agent started.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  AGENT_BUNDLE,
  DOMAIN,
  GATEWAY_PORT,
  linkLocalOf,
  systemNode,
  TOKENS,
  until,
  VNI,
} from "../../e2e/support/world.ts";
import { GUEST_NAME, HOP_PENALTY, IF, ROUTING_ALGO } from "./constants.ts";
import type { WorldContext } from "./context.ts";
import type { GuestResult } from "./guest.ts";

export interface Link {
  ifindex: number;
  ifname: string;
  mtu: number;
  address: string;
  operstate: string;
  master?: string;
  linkinfo?: { info_kind?: string };
}

export class KernelGateway {
  readonly name: string;
  readonly publicKey: string;
  readonly privateKey: string;
  readonly ll: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly stateDir: string;
  readonly #world: WorldContext;
  readonly #pidFile: string;

  constructor(world: WorldContext, name: string, keys: { privateKey: string; publicKey: string }) {
    this.#world = world;
    this.name = name;
    this.privateKey = keys.privateKey;
    this.publicKey = keys.publicKey;
    this.ll = linkLocalOf(keys.publicKey);
    this.configFile = path.join(world.dir, `${name}.yaml`);
    this.logFile = path.join(world.dir, `${name}.log`);
    this.stateDir = path.join(world.dir, `${name}-state`);
    this.#pidFile = path.join(world.dir, `${name}.pid`);
  }

  /** FFMUC-style: kernel WireGuard, bat-welt over vx-welt, gw_mode server, hop penalty, BATMAN_V, br-welt. */
  writeConfig(): void {
    const dir = this.#world.dir;
    const keyFile = path.join(dir, `${this.name}.key`);
    const tokenFile = path.join(dir, `${this.name}.token`);
    writeFileSync(keyFile, `${this.privateKey}\n`, { mode: 0o600 });
    writeFileSync(tokenFile, `${TOKENS[this.name]}\n`, { mode: 0o600 });
    writeFileSync(
      this.configFile,
      [
        `# ${this.name} of kernel world ${this.#world.id}: Debian's kernel under QEMU`,
        `gateway: ${this.name}`,
        `edge: { url: "${this.#world.edgeUrl}", token_file: ${tokenFile}, backoff_min_ms: 200, backoff_max_ms: 2000 }`,
        `external_address: "${GUEST_NAME}"`,
        "domain_prefixes: [ffmuc_]",
        `state_dir: ${this.stateDir}`,
        "log_level: info",
        "metrics: { listen: null }",
        "wireguard: { implementation: kernel }",
        "domains:",
        `  ${DOMAIN}:`,
        `    listen_port: ${GATEWAY_PORT}`,
        `    private_key_file: ${keyFile}`,
        `    vni: ${VNI}`,
        `    batman: { enabled: true, routing_algo: ${ROUTING_ALGO}, gw_mode: server, hop_penalty: ${HOP_PENALTY}, bridge: true }`,
        "",
      ].join("\n"),
    );
  }

  /** The agent's command line in the guest (the system Node runs the bundle, as on a gateway). */
  cli(...args: string[]): string[] {
    return [systemNode(), AGENT_BUNDLE, ...args, "--config", this.configFile];
  }

  get pid(): number | undefined {
    return existsSync(this.#pidFile) ? Number(readFileSync(this.#pidFile, "utf8")) : undefined;
  }

  /** Start `wgkex-agent run` in the guest and wait until the edge welcomed it (20-60 s under TCG). */
  async start(timeoutMs = 240_000): Promise<number> {
    const before = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
    const t0 = Date.now();
    const pid = await this.#world.guest.spawn(this.cli("run"), this.logFile);
    writeFileSync(this.#pidFile, String(pid));
    await until(
      () => `${this.name}'s agent (guest pid ${pid}) to be welcomed by the edge; its log:\n${this.logTail()}`,
      async () => {
        if (readFileSync(this.logFile, "utf8").slice(before).includes('"msg":"welcome"')) return true;
        if (!(await this.#world.guest.running(pid))) throw new Error("the agent exited");
        return false;
      },
      timeoutMs,
      500,
    );
    return Date.now() - t0;
  }

  /** SIGTERM, and wait for the agent to be gone. */
  async stop(): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) return;
    await this.#world.guest.signal(pid, "TERM");
    await until(`${this.name}'s agent to stop`, async () => !(await this.#world.guest.running(pid)), 60_000, 500);
  }

  /** kill -9 of the agent: what a power cut does to it. */
  async crash(): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) return;
    await this.#world.guest.signal(pid, "KILL");
    await until(`${this.name}'s agent to be gone`, async () => !(await this.#world.guest.running(pid)), 30_000, 500);
  }

  /** The rest of a reboot: every interface of the domain is gone (the state directory stays). */
  async deleteInterfaces(): Promise<void> {
    await this.#world.guest.script([IF.br, IF.bat, IF.vx, IF.wg].map((dev) => ["ip", "link", "del", dev]));
  }

  logTail(chars = 3000): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, "utf8").slice(-chars) : "(no log)";
  }

  exec(argv: readonly string[]): Promise<GuestResult> {
    return this.#world.guest.exec(argv);
  }

  /** Links by name (ip -d -j link show); missing ones are absent from the map. */
  async links(): Promise<Map<string, Link>> {
    const all = JSON.parse(await this.#world.guest.sh(["ip", "-d", "-j", "link", "show"])) as Link[];
    return new Map(all.map((l) => [l.ifname, l]));
  }

  /** `wg show wg-welt dump`: public key → allowed ips. */
  async peers(): Promise<Map<string, string>> {
    const out = await this.#world.guest.sh(["wg", "show", IF.wg, "dump"]);
    const peers = new Map<string, string>();
    for (const line of out.trim().split("\n").slice(1)) {
      const [key, , , allowed] = line.split("\t");
      if (key) peers.set(key, allowed!);
    }
    return peers;
  }

  /** Destinations of the /128 routes on wg-welt and of the all-zero FDB entries on vx-welt. */
  async routesAndFdb(): Promise<{ routes: Set<string>; fdb: Set<string> }> {
    const [routes, fdb] = await Promise.all([
      this.#world.guest.sh(["ip", "-6", "-j", "route", "show", "dev", IF.wg]),
      this.#world.guest.sh(["bridge", "-j", "fdb", "show", "dev", IF.vx]),
    ]);
    return {
      routes: new Set((JSON.parse(routes || "[]") as Array<{ dst: string }>).map((r) => r.dst)),
      fdb: new Set(
        (JSON.parse(fdb || "[]") as Array<{ mac: string; dst?: string }>)
          .filter((e) => e.mac === "00:00:00:00:00:00" && e.dst)
          .map((e) => e.dst!),
      ),
    };
  }

  /** Keys whose peer (<ll>/128), route and FDB entry are not all on the gateway. */
  async missing(keys: readonly string[]): Promise<string[]> {
    const [peers, { routes, fdb }] = await Promise.all([this.peers(), this.routesAndFdb()]);
    return keys.filter((k) => {
      const ll = linkLocalOf(k);
      return peers.get(k) !== `${ll}/128` || !routes.has(ll) || !fdb.has(ll);
    });
  }

  /** Originator MACs in `batctl meshif bat-welt originators`. */
  async originators(): Promise<string[]> {
    const out = await this.#world.guest.sh(["batctl", "meshif", IF.bat, "originators", "-H"]);
    return [...out.matchAll(/^\s*\*?\s*([0-9a-f]{2}(?::[0-9a-f]{2}){5})/gm)].map((m) => m[1]!);
  }

  /** What the gateway has, for failure messages. */
  async describe(): Promise<string> {
    const q = async (argv: string[]) => {
      const r = await this.#world.guest.exec(argv);
      return `$ ${argv.join(" ")}\n${(r.stdout + r.stderr).trim().split("\n").slice(0, 30).join("\n")}`;
    };
    const parts = await Promise.all([
      q(["ip", "-br", "link"]),
      q(["wg", "show", IF.wg]),
      q(["batctl", "meshif", IF.bat, "originators"]),
      q(["batctl", "meshif", IF.bat, "interface"]),
      q(["bridge", "link"]),
    ]);
    return [...parts, "--- agent log (tail)", this.logTail(2000)].join("\n");
  }
}
