/**
 * Debian's own kernel as a QEMU guest (TCG), for the kernel suite and `npm run bench -- kernel`.
 *
 * - Kernel: `linux-image-<version>` fetched with `apt-get download` and unpacked (never
 *   installed) by `fetch-kernel.sh` into a cache directory (`$WGKEX_KERNEL_CACHE`, default
 *   /var/cache/wgkex-edge/kernel).
 * - Root filesystem: the host's `/` over 9p (read-write), so the guest runs the host's `ip`, `wg`,
 *   `batctl`, `node` and the repository's agent bundle at the same paths. The guest keeps its own
 *   /run and /tmp (tmpfs); the guest directory (`dir`, under the host's /tmp) is bound back in at
 *   the same path.
 * - Network: one virtio NIC on a tap device that QEMU creates inside a network namespace the
 *   caller made. No user-mode network.
 * - Commands: files in `<dir>/rpc` (see guest-init.sh): the host writes a script whose every
 *   argument is single-quoted, the guest runs it and writes stdout, stderr and the exit code.
 *
 * Plain Node TypeScript (node: imports only) so the bench can use it.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_KERNEL_CACHE = "/var/cache/wgkex-edge/kernel";
export const FETCH_KERNEL = path.join(HERE, "fetch-kernel.sh");
/** Modules the initramfs loads, in this order, to mount the host's root over 9p. */
const INITRAMFS_MODULES = [
  "fs/netfs/netfs",
  "fs/fscache/fscache",
  "net/9p/9pnet",
  "fs/9p/9p",
  "drivers/virtio/virtio_ring",
  "drivers/virtio/virtio",
  "net/9p/9pnet_virtio",
  "drivers/virtio/virtio_pci_modern_dev",
  "drivers/virtio/virtio_pci_legacy_dev",
  "drivers/virtio/virtio_pci",
];

export interface Kernel {
  version: string;
  /** The unpacked package: boot/, lib/modules/<version>/. */
  tree: string;
  vmlinuz: string;
}

export function kernelCache(): string {
  return process.env.WGKEX_KERNEL_CACHE || DEFAULT_KERNEL_CACHE;
}

/** The unpacked kernel, or undefined when fetch-kernel.sh has not run. */
export function findKernel(cache = kernelCache()): Kernel | undefined {
  const current = path.join(cache, "current");
  if (!existsSync(current)) return undefined;
  const version = readFileSync(current, "utf8").trim();
  const tree = path.join(cache, version);
  const vmlinuz = path.join(tree, "boot", `vmlinuz-${version}`);
  if (!existsSync(path.join(tree, ".complete")) || !existsSync(vmlinuz)) return undefined;
  return { version, tree, vmlinuz };
}

const has = (tool: string) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
const isStatic = (file: string) => {
  const r = spawnSync("file", ["-L", file], { encoding: "utf8" });
  return r.status === 0 ? /statically linked|static-pie/.test(r.stdout) : existsSync(file);
};

/** What a guest needs on this machine (empty list of failures when everything is there). */
export function guestPrerequisites(): Array<[ok: boolean, what: string]> {
  const apt = "apt-get install -y --no-install-recommends";
  return [
    [process.getuid?.() === 0, "root (network namespaces, tap device)"],
    [existsSync("/dev/net/tun"), "/dev/net/tun (the guest's tap device)"],
    [has("qemu-system-x86_64"), `qemu-system-x86_64 (${apt} qemu-system-x86)`],
    [existsSync("/bin/busybox") && isStatic("/bin/busybox"), `a static /bin/busybox (${apt} busybox-static)`],
    [has("cpio"), `cpio (${apt} cpio)`],
    [
      has("wg") && has("batctl") && has("ip") && has("ping"),
      `wg, batctl, ip, ping (${apt} wireguard-tools batctl iproute2 iputils-ping)`,
    ],
    [
      findKernel() !== undefined,
      `Debian's kernel unpacked in ${kernelCache()} (run ${path.relative(process.cwd(), FETCH_KERNEL)})`,
    ],
  ];
}

/** The initramfs: static busybox, the 9p modules and initramfs-init.sh, as a newc cpio. */
export function buildInitramfs(kernel: Kernel, dir: string): string {
  const stage = path.join(dir, "initramfs");
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(path.join(stage, "bin"), { recursive: true });
  mkdirSync(path.join(stage, "modules"));
  copyFileSync("/bin/busybox", path.join(stage, "bin", "busybox"));
  copyFileSync(path.join(HERE, "initramfs-init.sh"), path.join(stage, "init"));
  spawnSync("chmod", ["0755", path.join(stage, "init"), path.join(stage, "bin", "busybox")]);
  const modules = path.join(kernel.tree, "lib", "modules", kernel.version, "kernel");
  for (const m of INITRAMFS_MODULES) {
    copyFileSync(path.join(modules, `${m}.ko`), path.join(stage, "modules", `${path.basename(m)}.ko`));
  }
  const files = [
    "bin",
    "bin/busybox",
    "init",
    "modules",
    ...INITRAMFS_MODULES.map((m) => `modules/${path.basename(m)}.ko`),
  ];
  const out = path.join(dir, "initramfs.cpio");
  const r = spawnSync("cpio", ["-o", "-H", "newc", "--quiet", "-O", out], {
    cwd: stage,
    input: `${files.join("\n")}\n`,
  });
  if (r.status !== 0) throw new Error(`cpio failed: ${r.stderr}`);
  rmSync(stage, { recursive: true, force: true });
  return out;
}

/** Quote one argument for the guest's /bin/sh. */
export const quote = (arg: string): string => `'${arg.replaceAll("'", `'\\''`)}'`;

export interface GuestResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface GuestOptions {
  /** Host directory of this guest (under /tmp): rpc/, console.log, initramfs; same path in the guest. */
  dir: string;
  /** Network namespace (made by the caller) where QEMU creates the tap device. */
  netns: string;
  tap: string;
  /** The guest's eth0 address (/24) and its default gateway (the tap side). */
  address: string;
  gateway: string;
  /** A DNS name for `address`, resolved inside the guest (its own /etc/hosts). */
  name?: string;
  cpus?: number;
  memoryMiB?: number;
  bootTimeoutMs?: number;
}

let rpcCounter = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export class Guest {
  readonly dir: string;
  /** QEMU's pid (it leads its own process group). */
  readonly pid: number;
  readonly #rpc: string;

  private constructor(dir: string, pid: number) {
    this.dir = dir;
    this.pid = pid;
    this.#rpc = path.join(dir, "rpc");
  }

  /** A running guest booted by another process of this run (e.g. vitest's global setup). */
  static attach(dir: string, pid: number): Guest {
    return new Guest(dir, pid);
  }

  /** Boot the guest and wait until its command loop runs (≈ 5 s on a quiet machine, 30 s loaded). */
  static async boot(options: GuestOptions): Promise<Guest> {
    const kernel = findKernel();
    if (!kernel) throw new Error(`no kernel in ${kernelCache()}: run ${FETCH_KERNEL}`);
    mkdirSync(path.join(options.dir, "rpc"), { recursive: true });
    const initrd = buildInitramfs(kernel, options.dir);
    const append = [
      "console=ttyS0",
      "quiet",
      "panic=-1",
      `GUEST_INIT=${path.join(HERE, "guest-init.sh")}`,
      `GUEST_DIR=${options.dir}`,
      `KERNEL_TREE=${kernel.tree}`,
      `GUEST_ADDR=${options.address}`,
      `GUEST_GW=${options.gateway}`,
      ...(options.name ? [`GUEST_NAME=${options.name}`] : []),
    ].join(" ");
    const argv = [
      // niced: while the rest of `npm test` runs, its timing-sensitive suites come first.
      ...["ip", "netns", "exec", options.netns, "nice", "-n", "10", "qemu-system-x86_64"],
      ...["-accel", "tcg", "-cpu", "max", "-smp", String(options.cpus ?? 2), "-m", String(options.memoryMiB ?? 2048)],
      ...["-nodefaults", "-no-reboot", "-display", "none", "-monitor", "none"],
      ...["-serial", `file:${path.join(options.dir, "console.log")}`],
      ...["-kernel", kernel.vmlinuz, "-initrd", initrd, "-append", append],
      ...["-virtfs", "local,path=/,mount_tag=hostroot,security_model=passthrough,id=hostroot"],
      ...["-virtfs", `local,path=${options.dir},mount_tag=guestdir,security_model=passthrough,id=guestdir`],
      ...["-netdev", `tap,id=n0,ifname=${options.tap},script=no,downscript=no`],
      ...["-device", "virtio-net-pci,netdev=n0"],
    ];
    const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.unref();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
    const guest = new Guest(options.dir, child.pid!);
    const ready = path.join(options.dir, "ready");
    const failed = path.join(options.dir, "failed");
    const deadline = Date.now() + (options.bootTimeoutMs ?? 120_000);
    while (!existsSync(ready)) {
      if (!guest.alive || existsSync(failed) || Date.now() > deadline) {
        const why = existsSync(failed) ? readFileSync(failed, "utf8") : guest.alive ? "timeout" : "QEMU exited";
        await guest.kill();
        throw new Error(
          `the guest did not boot (${why}): ${stderr.trim()}\n--- console\n${guest.console().slice(-3000)}`,
        );
      }
      await sleep(50);
    }
    return guest;
  }

  /** The guest kernel's release (written by guest-init.sh once it runs). */
  get release(): string {
    return readFileSync(path.join(this.dir, "ready"), "utf8").trim();
  }

  get alive(): boolean {
    return pidAlive(this.pid);
  }

  console(): string {
    const f = path.join(this.dir, "console.log");
    return existsSync(f) ? readFileSync(f, "utf8") : "";
  }

  /** Run argv in the guest (its root namespace); resolves with its exit code and output. */
  async exec(argv: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<GuestResult> {
    const id = `${process.pid}-${++rpcCounter}`;
    const base = path.join(this.#rpc, id);
    if (options.input !== undefined) await writeFile(`${base}.in`, options.input);
    await writeFile(`${base}.tmp`, `exec ${argv.map(quote).join(" ")}\n`);
    spawnSync("mv", [`${base}.tmp`, `${base}.sh`]);
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    for (;;) {
      if (existsSync(`${base}.rc`) && (await readFile(`${base}.rc`, "utf8")).endsWith("\n")) break;
      if (!this.alive) throw new Error(`the guest is gone; it was to run: ${argv.join(" ")}`);
      if (Date.now() > deadline) throw new Error(`the guest did not finish ${argv.join(" ")} in time`);
      await sleep(argv[0] === "sleep" ? 200 : 15);
    }
    const [rc, stdout, stderr] = await Promise.all(
      ["rc", "out", "err"].map((ext) => readFile(`${base}.${ext}`, "utf8").catch(() => "")),
    );
    await Promise.all(["rc", "out", "err", "sh", "in"].map((ext) => rm(`${base}.${ext}`, { force: true })));
    return { code: Number(rc!.trim()), stdout: stdout!, stderr: stderr! };
  }

  /** exec, throwing (with stderr) unless the exit code is 0; returns stdout. */
  async sh(argv: readonly string[], input?: string): Promise<string> {
    const r = await this.exec(argv, input === undefined ? {} : { input });
    if (r.code !== 0)
      throw new Error(`guest: ${argv.join(" ")} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  /**
   * Several commands in one round trip (each one costs a fork and an exec under emulation):
   * `set -e`, so the first failure stops the script and its stderr comes back.
   */
  async script(commands: ReadonlyArray<readonly string[]>): Promise<string> {
    return this.sh(["sh", "-ec", commands.map((argv) => argv.map(quote).join(" ")).join("\n")]);
  }

  /**
   * Start argv in the background in the guest (own session, output appended to logFile); its
   * pid. The round trip's shell stays as its parent and reaps it: PID 1 is a script that would
   * leave it a zombie.
   */
  async spawn(argv: readonly string[], logFile: string): Promise<number> {
    const pidFile = path.join(this.#rpc, `spawn-${process.pid}-${++rpcCounter}.pid`);
    const script = `setsid ${argv.map(quote).join(" ")} >>${quote(logFile)} 2>&1 </dev/null &\necho $! >${quote(pidFile)}\nwait $!\n`;
    const id = `${process.pid}-${++rpcCounter}`;
    await writeFile(path.join(this.#rpc, `${id}.tmp`), script);
    spawnSync("mv", [path.join(this.#rpc, `${id}.tmp`), path.join(this.#rpc, `${id}.sh`)]);
    const deadline = Date.now() + 60_000;
    while (!existsSync(pidFile) || readFileSync(pidFile, "utf8").trim() === "") {
      if (!this.alive || Date.now() > deadline) throw new Error(`the guest did not start ${argv.join(" ")}`);
      await sleep(50);
    }
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    rmSync(pidFile, { force: true });
    return pid;
  }

  /** Signal a guest process; true when it existed. */
  async signal(pid: number, signal: "TERM" | "KILL"): Promise<boolean> {
    return (await this.exec(["kill", `-${signal}`, String(pid)])).code === 0;
  }

  /** The process exists and is not a zombie. */
  async running(pid: number): Promise<boolean> {
    const r = await this.exec(["cat", `/proc/${pid}/stat`]);
    return r.code === 0 && !/^\d+ \(.*\) Z /.test(r.stdout);
  }

  /** Power off through the command loop; QEMU killed if it does not exit in time. */
  async poweroff(timeoutMs = 20_000): Promise<void> {
    if (this.alive) writeFileSync(path.join(this.#rpc, "stop"), "");
    const deadline = Date.now() + timeoutMs;
    while (this.alive && Date.now() < deadline) await sleep(50);
    await this.kill();
  }

  async kill(): Promise<void> {
    try {
      process.kill(-this.pid, "SIGKILL");
    } catch {
      // gone
    }
    const deadline = Date.now() + 5000;
    while (this.alive && Date.now() < deadline) await sleep(20);
  }
}
