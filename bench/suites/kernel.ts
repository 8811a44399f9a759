/**
 * Kernel WireGuard: installing 10,000 keys on Debian's own kernel (QEMU guest, TCG, see
 * tests/kernel/support/guest.ts), batched through the agent's PeerProgrammer vs one command per
 * key, next to wireguard-go in the same guest. The guest program is bench/kernel/guest-install.ts,
 * bundled and run on the guest's Node. Emulation makes every figure slower than on hardware;
 * the comparison inside one guest is what counts (the host's wireguard-go figures are in the
 * batching suite).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { bundleForNode, systemNode } from "../../tests/e2e/support/world.ts";
import { Guest, guestPrerequisites } from "../../tests/kernel/support/guest.ts";
import { type BenchContext, type Row, type SuiteResult, target } from "../lib/report.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BUNDLE = path.join(ROOT, ".wrangler", "bench-kernel", "guest-install.mjs");

interface GuestFigures {
  implementation: "kernel" | "userspace";
  n: number;
  batchedMs: number;
  batchedSpawns: number;
  failed: number;
  batchedInstalled: { peers: number; routes: number; fdb: number };
  sample: number;
  sampleMs: number;
  sampleSpawns: number;
  singleMs: number;
}

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  const missing = guestPrerequisites().filter(([ok]) => !ok);
  if (missing.length > 0) throw new Error(`kernel suite needs: ${missing.map(([, w]) => w).join("; ")}`);
  await bundleForNode(path.join(ROOT, "bench", "kernel", "guest-install.ts"), BUNDLE);
  const n = 10_000;
  const sample = ctx.quick ? 100 : 200;
  const id = `wgkb-k${process.pid}`;
  const dir = path.join(tmpdir(), id);
  mkdirSync(dir, { recursive: true });
  const ip = (...argv: string[]) => spawnSync("ip", argv, { encoding: "utf8" });
  ip("netns", "add", id);
  ip("-n", id, "tuntap", "add", "dev", "tap0", "mode", "tap");
  let guest: Guest | undefined;
  try {
    guest = await Guest.boot({ dir, netns: id, tap: "tap0", address: "10.214.0.2", gateway: "10.214.0.1" });
    ctx.log(`kernel: guest up (Debian kernel ${guest.release})`);
    const figures: GuestFigures[] = [];
    for (const implementation of ["kernel", "userspace"] as const) {
      const work = path.join(dir, implementation);
      mkdirSync(work, { recursive: true });
      const r = await guest.exec([systemNode(), BUNDLE, implementation, String(n), String(sample), work], {
        timeoutMs: 60 * 60_000,
      });
      if (r.code !== 0) throw new Error(`guest-install ${implementation} failed (${r.code}): ${r.stderr.slice(-2000)}`);
      const f = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as GuestFigures;
      ctx.log(`kernel: ${JSON.stringify(f)}`);
      figures.push(f);
    }
    const [kernel, userspace] = figures as [GuestFigures, GuestFigures];
    const label = (f: GuestFigures) => (f.implementation === "kernel" ? "kernel WireGuard" : "wireguard-go");
    const rows: Row[] = figures.flatMap((f) => [
      {
        suite: "kernel",
        figure: `${label(f)} in the guest: install 10,000 keys, batched (agent)`,
        value: f.batchedMs,
        unit: "ms",
        note: `${f.batchedSpawns} spawns; failed ${f.failed}; installed ${f.batchedInstalled.peers}/${f.batchedInstalled.routes}/${f.batchedInstalled.fdb}; Debian ${guest!.release} under TCG, 1 run`,
      },
      {
        suite: "kernel",
        figure: `${label(f)} in the guest: install 10,000 keys, one command per key (wgkex way)`,
        value: f.singleMs,
        unit: "ms",
        note: `EXTRAPOLATED from ${f.sample} keys on top of ${f.n - f.sample} (${f.sampleMs.toFixed(0)} ms, ${f.sampleSpawns} spawns)`,
      },
    ]);
    rows.push({
      suite: "kernel",
      figure: "speed-up batched vs one-per-key at 10,000, kernel WireGuard",
      value: kernel.singleMs / kernel.batchedMs,
      unit: "x",
    });
    rows.push({
      suite: "kernel",
      figure: "kernel WireGuard vs wireguard-go, batched 10,000 (same guest)",
      value: userspace.batchedMs / kernel.batchedMs,
      unit: "x",
      note: "> 1: kernel WireGuard installs faster",
    });
    const complete = (f: GuestFigures) =>
      f.failed === 0 && Object.values(f.batchedInstalled).every((c) => c === f.n) ? 1 : 0;
    return {
      rows,
      targets: [
        target("kernel", "10,000 keys all installed on kernel WireGuard (peer, route, FDB)", complete(kernel), "==", 1),
      ],
      data: { release: guest.release, figures },
    };
  } finally {
    await guest?.poweroff();
    ip("netns", "del", id);
    rmSync(dir, { recursive: true, force: true });
  }
}
