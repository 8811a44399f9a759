/**
 * The kernel world: one gateway on Debian's own kernel, under QEMU, connected to the real edge.
 *
 *  root namespace                    │ namespace wgxk-<pid>-<tag> (the test's)  │ QEMU guest (Debian's kernel)
 *  edge: node edge/local/serve.ts    │ tap0 10.214.0.1/24                       │ eth0 10.214.0.2 = the gateway
 *    (workerd, 127.0.0.1:N)          │ relay: tcp 10.214.0.1:8080 → edge.sock   │ wgkex-agent run (bundle, Node 20):
 *  relay: edge.sock → 127.0.0.1:N    │ route 10.214.0.0/16 via 10.214.0.2       │   wg-welt (kernel WireGuard), vx-welt,
 *                                    │                                          │   bat-welt (batman-adv), br-welt
 *                                    │                                          │ namespaces nK: Gluon-like nodes
 *                                    │                                          │ namespaces cK: a client behind each node
 *
 * The edge never leaves loopback: the guest reaches it through the tap device and two relays
 * joined by a unix socket in the world directory (a file crosses namespaces). The world is
 * booted once per suite by vitest's global setup; test files attach to it by its directory.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  cleanLeftovers,
  DOMAIN,
  type DomainStatus,
  EdgeProcess,
  ensureAgentBundle,
  freePort,
  genKeyPair,
  run,
  sh,
  until,
} from "../../e2e/support/world.ts";
import { GUEST_ADDR, GUEST_NAME, HOST_ADDR, PREFIX, RELAY_PORT } from "./constants.ts";
import type { WorldContext } from "./context.ts";
import { KernelGateway } from "./gateway.ts";
import { Guest } from "./guest.ts";
import { KernelNode } from "./node.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));

interface WorldInfo {
  id: string;
  dir: string;
  hostNs: string;
  edgePort: number;
  qemuPid: number;
  relayPids: number[];
  gatewayKeys: { privateKey: string; publicKey: string };
}

const edgeConfig = (gateways: string[]) => ({
  domains: [DOMAIN, "ffmuc_muc_cty"],
  domain_prefixes: ["ffmuc_"],
  gateways: gateways.map((name) => ({ name })),
  // The scenarios read the head and the lag from the public status: always fresh, not up to
  // 5 s old (a cached head once made the adoption scenario compare against a stale one).
  status_cache_s: 0,
});

function startRelay(argv: string[], logFile: string): Promise<number> {
  const child = spawn(argv[0]!, [...argv.slice(1)], { detached: true, stdio: ["ignore", "pipe", "ignore"] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay ${argv.join(" ")} did not start (log ${logFile})`)), 15_000);
    child.stdout!.once("data", () => {
      clearTimeout(timer);
      child.unref();
      (child.stdout as unknown as { unref?: () => void }).unref?.();
      resolve(child.pid!);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`relay ${argv.join(" ")} exited (${code})`));
    });
  });
}

export class KernelWorld implements WorldContext {
  readonly info: WorldInfo;
  readonly guest: Guest;
  readonly edge: EdgeProcess;
  readonly gateway: KernelGateway;
  /** The edge as the guest reaches it. */
  readonly edgeUrl = `http://${HOST_ADDR}:${RELAY_PORT}/`;

  private constructor(info: WorldInfo, guest: Guest, edge?: EdgeProcess) {
    this.info = info;
    this.guest = guest;
    // Attached (a test file): an EdgeProcess that only queries the running edge.
    this.edge = edge ?? new EdgeProcess(info.dir, info.edgePort, edgeConfig(["gw01"]), false);
    this.gateway = new KernelGateway(this, "gw01", info.gatewayKeys);
  }

  get dir(): string {
    return this.info.dir;
  }

  get id(): string {
    return this.info.id;
  }

  /** Build everything and start the gateway's agent; ≈ 1-2 minutes under emulation. */
  static async create(log: (line: string) => void = () => {}): Promise<KernelWorld> {
    cleanLeftovers(PREFIX, log);
    await ensureAgentBundle();
    const tag = `${process.pid.toString(36)}${Math.floor(Math.random() * 36).toString(36)}`;
    const id = `${PREFIX}-${process.pid}-${tag}`;
    const dir = path.join(tmpdir(), id);
    mkdirSync(dir, { recursive: true });
    const info: WorldInfo = {
      id,
      dir,
      hostNs: id,
      edgePort: await freePort(),
      qemuPid: 0,
      relayPids: [],
      gatewayKeys: genKeyPair(),
    };
    const cleanup: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
    try {
      sh(["ip", "netns", "add", info.hostNs]);
      cleanup.unshift(() => void run(["ip", "netns", "del", info.hostNs]));
      const inHost = (argv: string[]) => sh(["ip", "-n", info.hostNs, ...argv]);
      inHost(["link", "set", "lo", "up"]);
      inHost(["tuntap", "add", "dev", "tap0", "mode", "tap"]);
      inHost(["addr", "add", `${HOST_ADDR}/24`, "dev", "tap0"]);
      inHost(["link", "set", "tap0", "up"]);
      const edge = new EdgeProcess(dir, info.edgePort, edgeConfig(["gw01"]), false);
      cleanup.unshift(() => edge.stop());
      const edgeStarted = edge.start();
      const booted = Guest.boot({
        dir,
        netns: info.hostNs,
        tap: "tap0",
        address: GUEST_ADDR,
        gateway: HOST_ADDR,
        name: GUEST_NAME,
      });
      await edgeStarted;
      const socket = path.join(dir, "edge.sock");
      const relay = path.join(HERE, "relay.ts");
      info.relayPids.push(
        await startRelay([process.execPath, relay, `unix:${socket}`, `tcp:127.0.0.1:${info.edgePort}`], socket),
      );
      info.relayPids.push(
        await startRelay(
          [
            ...["ip", "netns", "exec", info.hostNs],
            ...[process.execPath, relay, `tcp:${HOST_ADDR}:${RELAY_PORT}`, `unix:${socket}`],
          ],
          socket,
        ),
      );
      const guest = await booted;
      info.qemuPid = guest.pid;
      // A failure from here on (the agent never welcomed, say) must not leave QEMU running.
      cleanup.unshift(() => guest.poweroff());
      inHost(["route", "add", "10.214.0.0/16", "via", GUEST_ADDR]);
      writeFileSync(path.join(dir, "world.json"), JSON.stringify(info));
      log(`guest up: Debian kernel ${guest.release}, edge ${edge.url.href} (relayed at ${HOST_ADDR}:${RELAY_PORT})`);
      const world = new KernelWorld(info, guest, edge);
      world.gateway.writeConfig();
      await world.gateway.start();
      return world;
    } catch (e) {
      if (info.qemuPid === 0) {
        // the guest may be half-booted: its QEMU carries the world directory on its command line
        cleanLeftovers(PREFIX);
      }
      await KernelWorld.#teardown(info, cleanup);
      throw e;
    }
  }

  static attach(dir: string): KernelWorld {
    const info = JSON.parse(readFileSync(path.join(dir, "world.json"), "utf8")) as WorldInfo;
    return new KernelWorld(info, Guest.attach(dir, info.qemuPid));
  }

  static async #teardown(info: WorldInfo, cleanup: Array<() => Promise<void> | void>): Promise<void> {
    for (const pid of info.relayPids) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // gone
      }
    }
    for (const step of cleanup) await Promise.resolve(step()).catch(() => {});
  }

  async destroy(): Promise<void> {
    await this.guest.poweroff();
    if (process.env.E2E_KEEP_LOGS) this.#keepLogs();
    await KernelWorld.#teardown(this.info, [
      () => this.edge.stop(),
      () => void run(["ip", "netns", "del", this.info.hostNs]),
      () => rmSync(this.dir, { recursive: true, force: true }),
    ]);
  }

  #keepLogs(): void {
    const keep = path.join(path.dirname(HERE), "..", "..", ".reports", "kernel", this.info.id);
    mkdirSync(keep, { recursive: true });
    for (const f of ["console.log", "gw01.log", "gw01.yaml", "edge.log"]) {
      const file = path.join(this.dir, f);
      if (existsSync(file)) writeFileSync(path.join(keep, f), readFileSync(file));
    }
  }

  /** A new Gluon-like node in the guest (namespace nK, client namespace cK); K unique per world. */
  async addNode(): Promise<KernelNode> {
    let index = 1;
    for (; ; index++) {
      try {
        mkdirSync(path.join(this.dir, "nodes", String(index)), { recursive: false });
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT")
          mkdirSync(path.join(this.dir, "nodes"), { recursive: true });
        else if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        if ((e as NodeJS.ErrnoException).code === "ENOENT") index--;
      }
    }
    return KernelNode.create(this, index);
  }

  async status(): Promise<DomainStatus> {
    return this.edge.status();
  }

  /** The gateway is online at the edge and has applied everything there is. */
  async waitCaughtUp(timeoutMs = 120_000): Promise<void> {
    await until(
      async () => `gw01 to catch up: ${JSON.stringify((await this.status().catch(() => undefined))?.gateways)}`,
      async () => (await this.status()).gateways.every((g) => g.online && g.lag === 0),
      timeoutMs,
      500,
    );
  }

  /** The guest kernel's log (the ring buffer). */
  async dmesg(): Promise<string> {
    return this.guest.sh(["dmesg"]);
  }
}
