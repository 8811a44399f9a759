import { runLoad } from "./lib/load.ts";
import { startReferenceWorker, startBenchEdge } from "./lib/servers.ts";
import { exchangeBody, benchKey } from "./lib/keys.ts";
import { cpuMsOf } from "./lib/proc.ts";
import { BenchGateway } from "./lib/gateway.ts";
const persist = process.argv[2] !== "mem";
const e = await startBenchEdge(["ffmuc_a", "ffmuc_b"], ["gw01", "gw02"], persist);
console.log("persist", persist, e.persistDir, e.pid);
const gws = [await BenchGateway.connect(e.url, "gw01", "ffmuc_a", {track:false}), await BenchGateway.connect(e.url, "gw02", "ffmuc_a", {track:false})];
for (const dom of ["ffmuc_b", "ffmuc_a"]) for (const conc of [1, 16, 64, 16, 1]) {
    const cpu0 = cpuMsOf(e.pid!);
    const r = await runLoad({ base: e.url, path: "/api/v1/wg/key/exchange", concurrency: conc, durationMs: 2500, body: (i) => exchangeBody(dom, benchKey(`${dom}${conc}${Math.random()}`, i)) });
    const cpu = cpuMsOf(e.pid!) - cpu0;
    console.log(dom, conc, Math.round(r.rps), r.p50.toFixed(2), r.p99.toFixed(2), r.max.toFixed(1), r.statuses, (cpu / r.requests).toFixed(3), gws.map(g=>g.frames));
}
await e.stop();
