/**
 * Part 5: edge storage bytes per 10,000 registrations (SQLite files of the domain's object
 * in the persist dir, after a clean shutdown) and agent RSS with 10,000 and 100,000
 * registrations (the agent alone in a child process, command layer recording instead of
 * spawning, fed 1,000-entry `peers` frames by a minimal protocol-speaking fake edge so the
 * 100,000 keys take seconds, not minutes).
 */
import { fork } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { type WebSocket, WebSocketServer } from "ws";
import { BenchHostRunner } from "../lib/agent.ts";
import { BenchGateway } from "../lib/gateway.ts";
import { benchKey, exchangeBody } from "../lib/keys.ts";
import { runLoad } from "../lib/load.ts";
import { type BenchContext, type Row, type SuiteResult, type Target, target } from "../lib/report.ts";
import { startBenchEdge } from "../lib/servers.ts";
import { sleep, until } from "../lib/stats.ts";

const SYSTEM_NODE = existsSync("/usr/bin/node") ? "/usr/bin/node" : process.execPath;

function sqliteFiles(dir: string): Array<{ file: string; bytes: number }> {
  const out: Array<{ file: string; bytes: number }> = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.sqlite(-wal|-shm)?$/.test(e.name)) out.push({ file: p, bytes: statSync(p).size });
    }
  };
  walk(dir);
  return out;
}

async function edgeStorage(
  ctx: BenchContext,
): Promise<{ perTenThousand: number; files: Array<{ file: string; bytes: number }> }> {
  const edge = await startBenchEdge(["ffmuc_empty", "ffmuc_tenk"], ["gw01", "gw02"]);
  const persistDir = edge.persistDir!;
  const gws: BenchGateway[] = [];
  for (const d of ["ffmuc_empty", "ffmuc_tenk"])
    for (const g of ["gw01", "gw02"]) gws.push(await BenchGateway.connect(edge.url, g, d, { track: false }));
  await runLoad({
    base: edge.url,
    path: "/api/v1/wg/key/exchange",
    concurrency: 64,
    maxRequests: 10_000,
    body: (i) => exchangeBody("ffmuc_tenk", benchKey("storage", i)),
  });
  await until(() => gws[2]!.adds >= 10_000 && gws[3]!.adds >= 10_000, "frames", 30_000);
  await sleep(200);
  for (const g of gws) await g.close();
  // Keep the files: stop workerd (checkpoints the WAL), then measure.
  await edge.edge.stop();
  const files = sqliteFiles(persistDir).sort((a, b) => a.bytes - b.bytes);
  rmSync(persistDir, { recursive: true, force: true });
  const dbs = files.filter((f) => f.file.endsWith(".sqlite"));
  const empty = dbs[0]?.bytes ?? 0;
  const tenk = dbs.at(-1)?.bytes ?? 0;
  ctx.log(`edge storage: ${JSON.stringify(files.map((f) => [path.basename(f.file), f.bytes]))}`);
  return {
    perTenThousand: tenk - empty,
    files: files.map((f) => ({ file: path.relative(persistDir, f.file), bytes: f.bytes })),
  };
}

async function agentRss(
  ctx: BenchContext,
): Promise<Array<{ keys: number; node: string; rss: number; heapUsed: number; rssAfterGc: number; peers: number }>> {
  const domain = "ffmuc_mem";
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => wss.once("listening", r));
  const port = (wss.address() as { port: number }).port;
  let socket: WebSocket | undefined;
  let acked = 0;
  wss.on("connection", (ws) => {
    socket = ws;
    ws.on("message", (data) => {
      const f = JSON.parse(data.toString());
      if (f.type === "hello") {
        ws.send(
          JSON.stringify({
            type: "welcome",
            v: 1,
            domain,
            gateway: "gw01",
            mode: "snapshot",
            head: 0,
            variant: "wgkex",
          }),
        );
        ws.send(JSON.stringify({ type: "snapshot", head: 0, keys: [], done: true }));
      }
      if (f.type === "ack") acked = Math.max(acked, f.seq);
    });
  });
  const dir = mkdtempSync(path.join(tmpdir(), "wgkex-bench-mem-"));
  // Bundled like the shipped agent (gateway-agent/scripts/build.mjs) and run on the system
  // Node (Debian's 20), not through type stripping, whose compiler would add ~100 MB of RSS.
  const childPath = path.join(dir, "agent-child.mjs");
  await build({
    entryPoints: [path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "lib", "agent-child.ts")],
    outfile: childPath,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    external: ["bufferutil", "utf-8-validate"],
    logLevel: "warning",
  });
  const child = fork(
    childPath,
    [
      JSON.stringify({
        gateway: "gw01",
        edgeUrl: `http://127.0.0.1:${port}`,
        token: "t",
        dir,
        domains: [{ name: domain, suffix: "mem", port: 40031, vni: 7 }],
      }),
    ],
    { execPath: SYSTEM_NODE, execArgv: ["--expose-gc"], stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  // The simulated host lives here, like a kernel outside the agent: its peers are not agent memory.
  const host = new BenchHostRunner();
  child.on("message", (m: { type: string; id: number; argv: string[]; options: Record<string, unknown> }) => {
    if (m.type === "run")
      void host.run(m.argv, m.options).then((result) => child.send({ type: "result", id: m.id, result }));
    if (m.type === "daemon") {
      void host
        .startDaemon(m.argv)
        .then(() => child.send({ type: "result", id: m.id, result: { code: 0, stdout: "", stderr: "" } }));
    }
  });
  const peersOnHost = (): number => {
    return host.host.peers.size;
  };
  const stats = (gc: boolean): Promise<{ rss: number; heapUsed: number; peers: number }> =>
    new Promise((resolve) => {
      const on = (m: { type: string }): void => {
        if (m.type === "stats") {
          child.off("message", on);
          resolve({ ...(m as never as { rss: number; heapUsed: number }), peers: peersOnHost() });
        }
      };
      child.on("message", on);
      child.send({ type: "stats", gc });
    });
  const out: Array<{ keys: number; node: string; rss: number; heapUsed: number; rssAfterGc: number; peers: number }> =
    [];
  try {
    await until(() => socket !== undefined && acked === 0, "agent connection", 20_000);
    await sleep(300);
    let seq = 0;
    for (const target of [10_000, 100_000]) {
      while (seq < target) {
        const entries = [];
        for (let i = 0; i < 1_000; i++) {
          seq++;
          entries.push({ seq, public_key: benchKey("mem", seq), op: "add" });
        }
        socket!.send(JSON.stringify({ type: "peers", entries }));
        if (seq % 10_000 === 0) await until(() => acked >= seq, `agent ack ${seq}`, 60_000, 10);
      }
      await sleep(500);
      const before = await stats(false);
      const after = await stats(true);
      out.push({
        keys: target,
        node: (after as { node?: string }).node ?? "?",
        rss: before.rss,
        heapUsed: after.heapUsed,
        rssAfterGc: after.rss,
        peers: after.peers,
      });
      ctx.log(`agent memory at ${target}: ${JSON.stringify(out.at(-1))}`);
    }
  } finally {
    child.send({ type: "stop" });
    await Promise.race([new Promise((r) => child.once("exit", r)), sleep(5_000)]);
    if (child.exitCode === null) child.kill("SIGKILL");
    wss.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  const rows: Row[] = [];
  const targets: Target[] = [];
  const storage = await edgeStorage(ctx);
  rows.push({
    suite: "memory",
    figure: "edge SQLite bytes per 10,000 registrations (v1, 2 gateways acking)",
    value: storage.perTenThousand,
    unit: "bytes",
    note: `${Math.round(storage.perTenThousand / 10_000)} bytes/key`,
  });
  const rss = await agentRss(ctx);
  for (const r of rss) {
    rows.push({
      suite: "memory",
      figure: `agent RSS with ${r.keys.toLocaleString("en")} registrations`,
      value: r.rss / 2 ** 20,
      unit: "MiB",
      note: `node ${r.node}; after GC ${Math.round(r.rssAfterGc / 2 ** 20)} MiB, heap used ${Math.round(r.heapUsed / 2 ** 20)} MiB; ${r.peers} peers on the simulated host (in the parent, like a kernel)`,
    });
  }
  const at100k = rss.find((r) => r.keys === 100_000);
  if (at100k)
    targets.push(target("memory", "agent RSS at 100,000 registrations, MiB", at100k.rss / 2 ** 20, "<=", 150));
  return { rows, targets, data: { storage, rss } };
}
