import { execFileSync, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";

export function netnsAvailable(): string | undefined {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root");
  for (const tool of ["ip", "bridge", "wg", "wireguard-go"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) missing.push(tool);
  }
  return missing.length ? `needs ${missing.join(", ")} (apt-get install -y --no-install-recommends wireguard-go wireguard-tools iproute2)` : undefined;
}

export const inNs = (ns: string, argv: string[]): string =>
  execFileSync("ip", ["netns", "exec", ns, ...argv], { encoding: "utf8", maxBuffer: 512 * 1024 * 1024 });

export function createNamespace(ns: string): void {
  execFileSync("ip", ["netns", "add", ns]);
  inNs(ns, ["ip", "link", "set", "lo", "up"]);
}

/** Kill the processes in the namespace we created (wireguard-go), by pid; delete it. */
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

/** What is really installed: peers, routes and all-zero FDB entries on a domain's interfaces. */
export function installedCounts(ns: string, wgIf: string, vxIf: string): { peers: number; routes: number; fdb: number } {
  const peers = inNs(ns, ["wg", "show", wgIf, "peers"]).split("\n").filter(Boolean).length;
  const routes = inNs(ns, ["ip", "-6", "route", "show", "dev", wgIf]).split("\n").filter((l) => l.includes("/128") || /^fe80::\S+ /.test(l)).length;
  const fdb = inNs(ns, ["bridge", "fdb", "show", "dev", vxIf]).split("\n").filter((l) => l.startsWith("00:00:00:00:00:00") && l.includes("dst")).length;
  return { peers, routes, fdb };
}
