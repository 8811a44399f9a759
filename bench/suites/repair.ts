/**
 * The repair signal's cost (issue 15, item 4; issue 12 §1(b)): a repeated registration of a
 * key every gateway acknowledged makes the edge ask the gateways to `verify` it, within the
 * repair limits (per key per minute, a token bucket per domain). Measured with wrk:
 *
 * - repeats of 10,000 installed keys, a first pass (keys not asked about yet) and a second
 *   pass right after (every key asked about within the minute: no signal);
 * - a storm: 50,000 installed keys of one domain repeated by 64 connections at full speed.
 *
 * For each: throughput and latency, the storage bytes workerd wrote (against the bytes per
 * new key, measured in the same run), the log head (a change would move it), and the
 * `verify` frames and keys each gateway received, against the limiter's bound.
 */
import { readFileSync } from "node:fs";
import { REPAIR_LIMITS } from "@wgkex-edge/edge/repair-limits";
import { DEFAULT_SERVING } from "../../edge/local/serve.ts";
import { BenchGateway } from "../lib/gateway.ts";
import { exchangeBody } from "../lib/keys.ts";
import { runLoad } from "../lib/load.ts";
import { measureWrk, type WrkMeasured } from "../lib/measure.ts";
import { type BenchContext, type Row, type SuiteResult, type Target, target } from "../lib/report.ts";
import { type Served, startBenchEdge } from "../lib/servers.ts";
import { sleep, until } from "../lib/stats.ts";
import { type WrkBody, wrkKey } from "../lib/wrk.ts";
import { wrkRow } from "./edge.ts";

const V1 = "/api/v1/wg/key/exchange";

/** Bytes a process caused to be written to storage so far (/proc/<pid>/io write_bytes). */
function storageBytes(pid: number): number {
  const m = /^write_bytes: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"));
  return m ? Number(m[1]) : Number.NaN;
}

async function domainHead(edge: URL, domain: string): Promise<number> {
  const status = (await (await fetch(new URL("/api/v1/status", edge))).json()) as {
    domains: Array<{ domain: string; head: number }>;
  };
  return status.domains.find((d) => d.domain === domain)?.head ?? Number.NaN;
}

interface Phase {
  name: string;
  measured: WrkMeasured;
  bytesPerRequest: number;
  headMoved: number;
  /** Per gateway: verify frames and keys received during the phase. */
  verifyFrames: number[];
  verifyKeys: number[];
  /** Keys listed again within a minute of their previous listing (must be 0). */
  verifyRepeats: number;
  /** The limiter's bound on keys per gateway for the phase's duration. */
  bound: number;
}

export async function run(ctx: BenchContext): Promise<SuiteResult> {
  const durationS = ctx.quick ? 3 : 8;
  const stormKeys = ctx.quick ? 20_000 : 50_000;
  const domains = { repeat: "ffmuc_repair", storm: "ffmuc_rstorm" };
  const edge = await startBenchEdge(Object.values(domains), ["gw01", "gw02"], { serving: DEFAULT_SERVING });
  const pid = edge.pid;
  if (pid === undefined) throw new Error("repair: the workerd process was not found");
  const phases: Phase[] = [];
  const gateways: BenchGateway[] = [];
  try {
    const connect = async (domain: string) => {
      const gws = [
        await BenchGateway.connect(edge.url, "gw01", domain, { track: false }),
        await BenchGateway.connect(edge.url, "gw02", domain, { track: false }),
      ];
      gateways.push(...gws);
      return gws;
    };
    /** Register `n` keys and wait until both gateways acknowledged all of them. */
    const install = async (domain: string, label: string, n: number, gws: BenchGateway[]) => {
      const before = storageBytes(pid);
      const reg = await runLoad({
        base: edge.url,
        path: V1,
        concurrency: 64,
        maxRequests: n,
        body: (i) => exchangeBody(domain, wrkKey(label, i)),
      });
      if (reg.ok !== n) throw new Error(`repair: ${n - reg.ok} of ${n} registrations not 200`);
      const head = await domainHead(edge.url, domain);
      await until(() => gws.every((g) => g.maxSeq >= head), `acks up to ${head}`, 60_000);
      await sleep(1_000); // acks written; the domain's repair budget refilled
      return (storageBytes(pid) - before) / n;
    };
    const phase = async (
      name: string,
      server: Served,
      domain: string,
      gws: BenchGateway[],
      body: WrkBody,
      c: number,
    ) => {
      const head0 = await domainHead(edge.url, domain);
      const bytes0 = storageBytes(pid);
      const frames0 = gws.map((g) => g.verifyFrames);
      const keys0 = gws.map((g) => g.verifyKeys);
      const repeats0 = gws.reduce((n, g) => n + g.verifyRepeats, 0);
      const started = performance.now();
      const m = await measureWrk(server, { path: V1, threads: 2, connections: c, durationS, body, retries: 0 });
      await sleep(1_000); // the last verify window (500 ms) flushed
      const elapsedS = (performance.now() - started) / 1000;
      phases.push({
        name,
        measured: m,
        bytesPerRequest: (storageBytes(pid) - bytes0) / m.requests,
        headMoved: (await domainHead(edge.url, domain)) - head0,
        verifyFrames: gws.map((g, i) => g.verifyFrames - frames0[i]!),
        verifyKeys: gws.map((g, i) => g.verifyKeys - keys0[i]!),
        verifyRepeats: gws.reduce((n, g) => n + g.verifyRepeats, 0) - repeats0,
        bound: REPAIR_LIMITS.burst + REPAIR_LIMITS.perSecond * elapsedS,
      });
    };

    ctx.log("repair: installing 10,000 keys");
    const repeatGws = await connect(domains.repeat);
    const bytesPerNewKey = await install(domains.repeat, "rset", 10_000, repeatGws);
    const repeated: WrkBody = { kind: "repeated", domain: domains.repeat, label: "rset", size: 10_000 };
    await phase("repeats of 10,000 installed keys, first pass", edge, domains.repeat, repeatGws, repeated, 16);
    await phase("repeats of the same keys within the minute", edge, domains.repeat, repeatGws, repeated, 16);

    ctx.log(`repair: installing ${stormKeys.toLocaleString("en")} keys for the storm`);
    const stormGws = await connect(domains.storm);
    await install(domains.storm, "rstorm", stormKeys, stormGws);
    const storm: WrkBody = { kind: "repeated", domain: domains.storm, label: "rstorm", size: stormKeys };
    await phase(
      `storm: ${stormKeys.toLocaleString("en")} installed keys repeated`,
      edge,
      domains.storm,
      stormGws,
      storm,
      64,
    );

    const rows: Row[] = [];
    const targets: Target[] = [];
    for (const p of phases) {
      const extra = `${p.bytesPerRequest.toFixed(1)} storage bytes/req (new key: ${bytesPerNewKey.toFixed(0)}), verify keys ${p.verifyKeys.join("/")} in ${p.verifyFrames.join("/")} frames (bound ${Math.floor(p.bound)})`;
      rows.push(wrkRow("repair", p.name, [p.measured], extra));
      targets.push(target("repair", `${p.name}: log changes`, p.headMoved, "==", 0));
      targets.push(
        target(
          "repair",
          `${p.name}: storage bytes per repeat / per new key`,
          p.bytesPerRequest / bytesPerNewKey,
          "<=",
          0.01,
          "buffered counters only, not a write per repeat",
        ),
      );
      targets.push(
        target(
          "repair",
          `${p.name}: verify keys per gateway / limiter bound`,
          Math.max(...p.verifyKeys) / p.bound,
          "<=",
          1,
          `burst ${REPAIR_LIMITS.burst} + ${REPAIR_LIMITS.perSecond}/s`,
        ),
      );
      targets.push(target("repair", `${p.name}: keys verified twice within a minute`, p.verifyRepeats, "==", 0));
    }
    return { rows, targets, data: { phases, bytesPerNewKey } };
  } finally {
    for (const g of gateways) await g.close();
    await edge.stop();
  }
}
