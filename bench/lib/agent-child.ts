/**
 * An agent alone in its own process (for its RSS): config from argv[2] (JSON), the
 * command layer recording instead of spawning (BenchHostRunner). Answers IPC "stats" with
 * its memory and the peers installed on the simulated host.
 */
import { mkdirSync } from "node:fs";
import { startAgent } from "../../gateway-agent/src/agent.ts";
import { silentLogger } from "../../gateway-agent/src/log.ts";
import { BenchHostRunner, benchAgentConfig } from "./agent.ts";

const options = JSON.parse(process.argv[2]!);
mkdirSync(options.dir, { recursive: true });
const runner = new BenchHostRunner();
const agent = await startAgent(benchAgentConfig(options), { runner, logger: silentLogger, timers: false });
process.on("message", (msg: { type: string }) => {
  if (msg.type === "stats") {
    if (msg.gc && globalThis.gc) globalThis.gc();
    const m = process.memoryUsage();
    let peers = 0;
    for (const t of runner.peers.values()) peers += t.size;
    process.send!({ type: "stats", node: process.version, rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, peers, spawns: runner.spawns });
  }
  if (msg.type === "stop") void agent.stop().then(() => process.exit(0));
});
process.send!({ type: "ready" });
