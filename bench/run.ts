/**
 * `npm run bench [-- <suite> ...] [--quick] [--reps N]`: runs the benchmark suites, prints a
 * table and writes bench/results/<timestamp>.json. See bench/README.md.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchContext, Row, SuiteResult, Target } from "./lib/report.ts";

const SUITES: Record<
  string,
  { about: string; load: () => Promise<{ run: (ctx: BenchContext) => Promise<SuiteResult> }> }
> = {
  edge: {
    about: "node API under wrk: throughput, p50/p99/max, socket errors vs reference workers (part 1)",
    load: () => import("./suites/edge.ts"),
  },
  profile: {
    about: "where the request path's CPU goes (perf on bare workerd): JavaScript vs runtime vs kernel, runtime steps",
    load: () => import("./suites/profile.ts"),
  },
  repair: {
    about: "the repair signal's cost: repeats of installed keys and a storm, writes and verify frames",
    load: () => import("./suites/repair.ts"),
  },
  tails: {
    about: "where p99 tails come from: serving path x wrk threads x connections, pinning, body reading",
    load: () => import("./suites/tails.ts"),
  },
  delivery: {
    about: "registration -> frame at a connected gateway socket (part 2)",
    load: () => import("./suites/delivery.ts"),
  },
  install: {
    about: "10,000-registration burst -> installed on wireguard-go via the agent (part 3)",
    load: () => import("./suites/install.ts"),
  },
  batching: {
    about: "batched vs one-command-per-key install, reconcile (part 4)",
    load: () => import("./suites/batching.ts"),
  },
  memory: { about: "edge storage bytes, agent RSS (part 5)", load: () => import("./suites/memory.ts") },
  storm: { about: "50,000 nodes, 19 domains, 4 gateways at 1,000/s (part 6)", load: () => import("./suites/storm.ts") },
  kernel: {
    about: "10,000 keys on kernel WireGuard in a Debian guest (QEMU): batched vs one-per-key vs wireguard-go",
    load: () => import("./suites/kernel.ts"),
  },
  parker: {
    about: "Parker config answers per second, signing included, next to v2 (part 7)",
    load: () => import("./suites/parker.ts"),
  },
  latency: {
    about:
      "exact per-request latency (uncorrected socket generator) next to wrk's corrected p99; open loop below saturation",
    load: () => import("./suites/latency.ts"),
  },
  status: {
    about: "registrations (wrk) while N clients poll /status and /api/v1/status, 30,000 keys (issues 12, 15)",
    load: () => import("./suites/status.ts"),
  },
};

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const repsArg = args.indexOf("--reps");
const reps = repsArg >= 0 ? Number(args[repsArg + 1]) : quick ? 3 : 5;
const chosen = args.filter((a, i) => !a.startsWith("--") && args[i - 1] !== "--reps");
if (args.includes("--help")) {
  console.log("usage: npm run bench [-- <suite>...] [--quick] [--reps N]\nsuites:");
  for (const [name, s] of Object.entries(SUITES)) console.log(`  ${name.padEnd(9)} ${s.about}`);
  process.exit(0);
}
for (const name of chosen) {
  if (!(name in SUITES)) {
    console.error(`unknown suite "${name}"; one of ${Object.keys(SUITES).join(", ")}`);
    process.exit(2);
  }
}
const names = chosen.length > 0 ? chosen : Object.keys(SUITES);
const started = new Date();
const log = (msg: string): void => {
  process.stderr.write(`[bench ${((Date.now() - started.getTime()) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
};
const ctx: BenchContext = { quick, reps, log };

const results: Record<string, SuiteResult | { error: string }> = {};
for (const name of names) {
  log(`suite ${name} (${quick ? "quick" : "full"}, ${reps} repetitions)`);
  try {
    const suite = await SUITES[name]!.load();
    results[name] = await suite.run(ctx);
  } catch (error) {
    log(`suite ${name} FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    results[name] = { error: String(error) };
  }
}

const fmt = (v: number | undefined, digits = 1): string =>
  v === undefined || !Number.isFinite(v)
    ? ""
    : Math.abs(v) >= 100
      ? Math.round(v).toLocaleString("en")
      : v.toFixed(digits);
const rows: Row[] = Object.values(results).flatMap((r) => ("rows" in r ? r.rows : []));
const targets: Target[] = Object.values(results).flatMap((r) => ("targets" in r ? r.targets : []));

const table = (headers: string[], lines: string[][]): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...lines.map(line)].join("\n");
};

console.log(
  `\nwgkex-edge bench, ${started.toISOString()}, ${os.cpus().length} cores, node ${process.version}, ${quick ? "quick" : "full"}, medians of ${reps}\n`,
);
console.log(
  table(
    ["figure", "value", "unit", "p50 ms", "p99 ms", "max ms", "note"],
    rows.map((r) => [
      `[${r.suite}] ${r.figure}`,
      fmt(r.value),
      r.unit,
      fmt(r.p50, 2),
      fmt(r.p99, 2),
      fmt(r.max, 1),
      r.note ?? "",
    ]),
  ),
);
console.log("\ntargets\n");
console.log(
  table(
    ["target", "measured", "required", "met", "note"],
    targets.map((t) => [`[${t.suite}] ${t.name}`, fmt(t.measured, 2), t.target, t.met ? "yes" : "NO", t.note ?? ""]),
  ),
);
for (const [name, r] of Object.entries(results)) if ("error" in r) console.log(`\nsuite ${name} failed: ${r.error}`);

const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "results");
mkdirSync(outDir, { recursive: true });
const file = path.join(outDir, `${started.toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      started: started.toISOString(),
      finished: new Date().toISOString(),
      host: {
        cpus: os.cpus().length,
        model: os.cpus()[0]?.model,
        memoryBytes: os.totalmem(),
        node: process.version,
        kernel: os.release(),
      },
      quick,
      reps,
      suites: names,
      rows,
      targets,
      results,
    },
    null,
    1,
  )}\n`,
);
console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
process.exit(Object.values(results).some((r) => "error" in r) ? 1 : 0);
