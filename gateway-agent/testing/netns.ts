import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";

/** Root, /dev/net/tun and the tools: otherwise skip locally, fail in CI. */
export function netnsPrerequisites(): string | undefined {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root");
  if (!existsSync("/dev/net/tun")) missing.push("/dev/net/tun");
  for (const tool of ["ip", "bridge", "wg", "wireguard-go"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) missing.push(tool);
  }
  if (missing.length === 0) return undefined;
  const why = `network-namespace tests need ${missing.join(", ")} (apt-get install -y --no-install-recommends wireguard-go wireguard-tools batctl iproute2)`;
  if (process.env.CI === "true") throw new Error(`CI: ${why}`);
  return why;
}

export function sh(argv: string[], input?: string): string {
  // Dumps of 100,000 peers are tens of MB.
  return execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", input: input ?? "", maxBuffer: 512 * 1024 * 1024 });
}

export function inNs(ns: string, argv: string[]): string {
  return sh(["ip", "netns", "exec", ns, ...argv]);
}

export function createNamespace(ns: string): void {
  sh(["ip", "netns", "add", ns]);
  inNs(ns, ["ip", "link", "set", "lo", "up"]);
}

/**
 * Kill the processes we started in the namespace (by pid), then delete it and the UAPI
 * sockets wireguard-go left for `interfaces` (they live outside the namespace).
 */
export function destroyNamespace(ns: string, interfaces: string[] = []): void {
  const pids = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), "SIGTERM");
    } catch {
      // gone
    }
  }
  spawnSync("ip", ["netns", "del", ns]);
  for (const dev of interfaces) rmSync(`/var/run/wireguard/${dev}.sock`, { force: true });
}
