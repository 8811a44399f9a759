import { spawnSync } from "node:child_process";
import { createNamespace, destroyNamespace, inNs } from "@wgkex-edge/gateway-agent/testing";

export function netnsAvailable(): string | undefined {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root");
  for (const tool of ["ip", "bridge", "wg", "wireguard-go"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) missing.push(tool);
  }
  return missing.length
    ? `needs ${missing.join(", ")} (apt-get install -y --no-install-recommends wireguard-go wireguard-tools iproute2)`
    : undefined;
}

// Namespace plumbing is shared with the agent's own network-namespace tests.
export { createNamespace, destroyNamespace, inNs };

/** What is really installed: peers, routes and all-zero FDB entries on a domain's interfaces. */
export function installedCounts(
  ns: string,
  wgIf: string,
  vxIf: string,
): { peers: number; routes: number; fdb: number } {
  const peers = inNs(ns, ["wg", "show", wgIf, "peers"]).split("\n").filter(Boolean).length;
  const routes = inNs(ns, ["ip", "-6", "route", "show", "dev", wgIf])
    .split("\n")
    .filter((l) => l.includes("/128") || /^fe80::\S+ /.test(l)).length;
  const fdb = inNs(ns, ["bridge", "fdb", "show", "dev", vxIf])
    .split("\n")
    .filter((l) => l.startsWith("00:00:00:00:00:00") && l.includes("dst")).length;
  return { peers, routes, fdb };
}
