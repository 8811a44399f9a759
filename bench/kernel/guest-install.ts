/**
 * Runs INSIDE the kernel guest (bundled by bench/suites/kernel.ts, on the system Node):
 *
 *   node guest-install.mjs <kernel|userspace> <N> <SAMPLE> <DIR>
 *
 * Provisions two domains through the agent (kernel WireGuard or wireguard-go), then installs N
 * keys with the agent's batched PeerProgrammer on the first, and on the second the wgkex way,
 * one command per key per step (`wg set` peer, `ip -6 route replace`, `bridge fdb append`),
 * timed on SAMPLE keys added on top of N - SAMPLE and extrapolated to N. Checks what the kernel
 * holds afterwards and prints one JSON line.
 */
import { spawnSync } from "node:child_process";
import { commands, ExecaRunner, silentLogger, startAgent } from "@wgkex-edge/gateway-agent";
import { linkLocal } from "@wgkex-edge/shared";
import { benchAgentConfig } from "../lib/agent.ts";
import { benchKey } from "../lib/keys.ts";

const { bridge, ip, wg } = commands;

const [implementation, nArg, sampleArg, dir] = process.argv.slice(2);
if ((implementation !== "kernel" && implementation !== "userspace") || !nArg || !sampleArg || !dir) {
  throw new Error("usage: guest-install.mjs <kernel|userspace> <N> <SAMPLE> <DIR>");
}
const n = Number(nArg);
const sample = Math.min(Number(sampleArg), n);
// Own names and ports per implementation: the guest keeps the other run's interfaces.
const [batchIf, singleIf] = implementation === "kernel" ? ["kb", "ks"] : ["ub", "us"];
const port = implementation === "kernel" ? 40021 : 40031;

const count = (argv: string[], keep: (line: string) => boolean) =>
  (spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", maxBuffer: 64 << 20 }).stdout ?? "").split("\n").filter(keep)
    .length;
const installed = (suffix: string) => ({
  peers: count(["wg", "show", `wg-${suffix}`, "peers"], Boolean),
  // the agent's host routes, not the one the kernel adds for the gateway's own /128 (proto kernel)
  routes: count(
    ["ip", "-6", "route", "show", "dev", `wg-${suffix}`],
    (l) => /^fe80::[0-9a-f:]+ /.test(l) && !l.includes("proto kernel"),
  ),
  fdb: count(["bridge", "fdb", "show", "dev", `vx-${suffix}`], (l) => l.startsWith("00:00:00:00:00:00")),
});

const config = benchAgentConfig({
  gateway: "gw01",
  edgeUrl: "http://127.0.0.1:9",
  token: "x",
  dir,
  domains: [
    { name: "ffmuc_batch", suffix: batchIf, port, vni: 101 },
    { name: "ffmuc_single", suffix: singleIf, port: port + 1, vni: 102 },
  ],
  userspace: implementation === "userspace",
});
const runner = new ExecaRunner();
const agent = await startAgent(config, { runner, logger: silentLogger, connect: false, timers: false });
try {
  await agent.idle();
  const keys = Array.from({ length: n }, (_, i) => benchKey(`kernel-batch${n}`, i));
  let s0 = runner.spawns;
  let t0 = performance.now();
  const result = await agent.domains.get("ffmuc_batch")!.programmer.install(keys);
  const batchedMs = performance.now() - t0;
  const batchedSpawns = runner.spawns - s0;
  const batchedInstalled = installed(batchIf);

  const single = Array.from({ length: n }, (_, i) => benchKey(`kernel-single${n}`, i));
  if (n > sample) await agent.domains.get("ffmuc_single")!.programmer.install(single.slice(0, n - sample));
  s0 = runner.spawns;
  t0 = performance.now();
  for (const key of single.slice(n - sample)) {
    const ll = linkLocal(key, "wgkex");
    await runner.run(wg.setPeer(`wg-${singleIf}`, key, ll));
    await runner.run(ip.routeReplace(ll, `wg-${singleIf}`));
    await runner.run(bridge.fdbAppend(`vx-${singleIf}`, ll, `wg-${singleIf}`));
  }
  const sampleMs = performance.now() - t0;
  const sampleSpawns = runner.spawns - s0;
  console.log(
    JSON.stringify({
      implementation,
      n,
      batchedMs,
      batchedSpawns,
      failed: result.failed.length,
      batchedInstalled,
      sample,
      sampleMs,
      sampleSpawns,
      singleMs: (sampleMs / sample) * n,
      singleInstalled: installed(singleIf),
    }),
  );
} finally {
  // The interfaces stay until the guest powers off: deleting a kernel WireGuard interface with
  // 10,000 peers takes minutes of RCU grace periods under emulation.
  agent.kill();
}
