import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { linkLocal, type PeerEntry } from "@wgkex-edge/shared";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/load.ts";
import { memoryLogger, startAgent } from "../src/index.ts";
import { keyPair, publicKeys, SimHost, tempDir } from "../testing/index.ts";
import { defer, startEdge } from "./support/agent.ts";

/**
 * A Parker domain end to end inside the agent: a real WebSocket to a small edge that speaks
 * the protocol with Parker's fields, and a simulated host at the command boundary.
 */
const R = {
  a6: "2001:db8:100:1::/64",
  a4: "10.100.1.0/24",
  b6: "2001:db8:100:2::/64",
  b4: "10.100.2.0/24",
};

async function parkerAgent(options: { edgeDataplane?: "batman" | "parker"; log?: PeerEntry[] } = {}) {
  const edge = await startEdge();
  edge.domain = "ffbs_parker";
  edge.dataplane = options.edgeDataplane ?? "parker";
  edge.log.push(...(options.log ?? []));
  const dir = tempDir("parker-agent-");
  const key = keyPair();
  writeFileSync(join(dir, "parker.key"), `${key.privateKey}\n`, { mode: 0o600 });
  writeFileSync(join(dir, "token"), "t\n", { mode: 0o600 });
  const config = parseConfig(`gateway: gw01
edge: { url: "${edge.url}", token_file: ${dir}/token, backoff_min_ms: 20, backoff_max_ms: 200 }
external_address: gw01.example.net
domain_prefixes: [ffbs_]
state_dir: ${dir}/state
metrics: { listen: null }
domains:
  ffbs_parker:
    mode: parker
    listen_port: 51820
    private_key_file: ${dir}/parker.key
    parker: { pools: [2001:db8:100::/56, 10.100.0.0/16], address4: 10.100.255.1 }
`);
  const sim = new SimHost();
  const logger = memoryLogger();
  const agent = await startAgent(config, { runner: sim.runner, logger, timers: false });
  defer(() => agent.stop());
  return { edge, sim, agent, key, logger };
}

const routes = (sim: SimHost) => [...(sim.routes.get("wg-parker") ?? [])].sort();

describe("the agent in a Parker domain", () => {
  it("provisions one WireGuard interface, announces its next hops, installs the snapshot with its ranges", async () => {
    const [a, b] = publicKeys(2, 70) as [string, string];
    const { edge, sim, key } = await parkerAgent({
      log: [
        { seq: 1, public_key: a, op: "add", allowed_ips: [R.a6, R.a4] },
        { seq: 2, public_key: b, op: "add", allowed_ips: [R.b6, R.b4] },
      ],
    });
    await edge.until(() => edge.acks().some((x) => x.seq === 2));
    expect(edge.hellos[0]).toMatchObject({ since: 0, snapshot: true });
    expect([...sim.links.keys()]).toEqual(["wg-parker"]);
    expect(sim.runner.argvs()).toContainEqual(["ip", "-4", "addr", "replace", "10.100.255.1/32", "dev", "wg-parker"]);
    expect(
      sim.runner.argvs().some((argv) => argv.includes("vxlan") || argv[0] === "batctl" || argv[0] === "bridge"),
    ).toBe(false);
    expect(edge.ofType("interface").at(-1)).toEqual({
      type: "interface",
      public_key: key.publicKey,
      port: 51820,
      address: "gw01.example.net",
      link_address: "fe80::1",
      address4: "10.100.255.1",
    });
    expect(sim.peers.get(a)?.allowed).toEqual([R.a6, R.a4]);
    expect(sim.peers.get(b)?.allowed).toEqual([R.b6, R.b4]);
    expect(routes(sim)).toEqual([R.a4, R.b4, R.a6, R.b6].sort());
  });

  it("installs live additions with their ranges, moves a node's ranges, and un-routes removals", async () => {
    const { edge, sim } = await parkerAgent();
    await edge.until(() => edge.acks().length === 1);
    const [a, b] = publicKeys(2, 71) as [string, string];
    edge.publish([
      { key: a, allowed_ips: [R.a6, R.a4] },
      { key: b, allowed_ips: [R.b6] },
    ]);
    await edge.until(() => edge.acks().some((x) => x.seq === 2));
    expect(routes(sim)).toEqual([R.a4, R.a6, R.b6].sort());
    edge.publish([{ key: a, op: "remove" }]);
    await edge.until(() => edge.acks().some((x) => x.seq === 3));
    expect(sim.peers.has(a)).toBe(false);
    expect(routes(sim)).toEqual([R.b6]);
    expect(edge.acks().at(-1)).toEqual({ type: "ack", seq: 3 });
  });

  it("stale cleanup un-routes and removes a silent node and tells the edge; live keys are reported", async () => {
    const { edge, sim, agent } = await parkerAgent();
    await edge.until(() => edge.acks().length === 1);
    const [live, stale] = publicKeys(2, 74) as [string, string];
    edge.publish([
      { key: live, allowed_ips: [R.a6, R.a4] },
      { key: stale, allowed_ips: [R.b6, R.b4] },
    ]);
    await edge.until(() => edge.acks().some((x) => x.seq === 2));
    const nowS = Math.floor(Date.now() / 1000);
    sim.peers.get(live)!.handshake = nowS - 10;
    sim.peers.get(stale)!.handshake = nowS - 20_000;
    await agent.cleanup();
    await agent.reportLive();
    await edge.until(() => edge.ofType("removed").length > 0 && edge.ofType("live").length > 0);
    // The edge marks the key removed (its next request pushes it again) and confirms the live one.
    expect(edge.ofType("removed")[0]!.entries.map((e) => e.public_key)).toEqual([stale]);
    expect(edge.ofType("live")[0]).toEqual({ type: "live", keys: [live] });
    expect(sim.peers.has(stale)).toBe(false);
    expect(routes(sim)).toEqual([R.a4, R.a6].sort());
  });

  it("refuses ranges outside its pools and reports them in the ack; installs the rest", async () => {
    const { edge, sim } = await parkerAgent();
    await edge.until(() => edge.acks().length === 1);
    const [a, b] = publicKeys(2, 72) as [string, string];
    edge.publish([
      { key: a, allowed_ips: ["0.0.0.0/0"] },
      { key: b, allowed_ips: [R.b6] },
    ]);
    await edge.until(() => edge.acks().some((x) => x.seq === 2));
    expect(edge.acks().at(-1)).toEqual({
      type: "ack",
      seq: 2,
      failed: [{ public_key: a, reason: "parker: 0.0.0.0/0 is outside this gateway's pools" }],
    });
    expect(sim.peers.has(a)).toBe(false);
    expect(sim.peers.has(b)).toBe(true);
  });

  it("repairs routes: puts back a missing one, removes an orphan inside the pools, leaves others", async () => {
    const { edge, sim, agent } = await parkerAgent();
    await edge.until(() => edge.acks().length === 1);
    const [a] = publicKeys(1, 73) as [string];
    edge.publish([{ key: a, allowed_ips: [R.a6, R.a4] }]);
    await edge.until(() => edge.acks().some((x) => x.seq === 1));
    const set = sim.routes.get("wg-parker")!;
    set.delete(R.a4);
    set.add("2001:db8:100:9::/64");
    set.add("192.0.2.0/24");
    const report = await agent.domains.get("ffbs_parker")!.reconcile();
    expect(report.reconcile?.plan).toMatchObject({ addRoutes: [R.a4], delRoutes: ["2001:db8:100:9::/64"] });
    expect(routes(sim)).toEqual(["10.100.1.0/24", "192.0.2.0/24", R.a6].sort());
  });

  it("puts back a node peer deleted by hand, with the ranges the edge gave it, and its routes", async () => {
    const { edge, sim, agent } = await parkerAgent();
    await edge.until(() => edge.acks().length === 1);
    const [a, b] = publicKeys(2, 75) as [string, string];
    edge.publish([
      { key: a, allowed_ips: [R.a6, R.a4] },
      { key: b, allowed_ips: [R.b6] },
    ]);
    await edge.until(() => edge.acks().some((x) => x.seq === 2));
    // `wg set wg-parker peer A remove`: the peer and, with it, what routes to it.
    sim.peers.delete(a);
    sim.routes.get("wg-parker")!.delete(R.a6);
    sim.routes.get("wg-parker")!.delete(R.a4);
    const report = await agent.domains.get("ffbs_parker")!.reconcile();
    expect(report.reconcile?.plan).toMatchObject({ installPeers: [a], foreign: [] });
    expect(report.reconcile?.failed).toEqual([]);
    expect(sim.peers.get(a)?.allowed).toEqual([R.a6, R.a4]);
    expect(routes(sim)).toEqual([R.a4, R.a6, R.b6].sort());
    // Nothing left to do, and a healthy Parker interface (no VXLAN, no batman-adv) is no problem.
    const calm = await agent.domains.get("ffbs_parker")!.reconcile();
    expect(calm.interfaces).toBeUndefined();
    expect(calm.reconcile?.plan.installPeers).toEqual([]);
  });

  it("provisions a deleted interface again and puts every node back on it", async () => {
    const { edge, sim, agent } = await parkerAgent();
    await edge.until(() => edge.acks().length === 1);
    const [a, b] = publicKeys(2, 76) as [string, string];
    edge.publish([
      { key: a, allowed_ips: [R.a6, R.a4] },
      { key: b, allowed_ips: [R.b6, R.b4] },
    ]);
    await edge.until(() => edge.acks().some((x) => x.seq === 2));
    // `ip link del wg-parker`: the interface, its peers and its routes are gone.
    sim.links.delete("wg-parker");
    sim.peers.clear();
    sim.routes.delete("wg-parker");
    const report = await agent.domains.get("ffbs_parker")!.reconcile();
    expect(report.interfaces?.problems).toEqual(["wg-parker is missing"]);
    expect(report.reconcile?.plan.installPeers.sort()).toEqual([a, b].sort());
    expect(sim.links.has("wg-parker")).toBe(true);
    expect(sim.peers.get(a)?.allowed).toEqual([R.a6, R.a4]);
    expect(routes(sim)).toEqual([R.a4, R.b4, R.a6, R.b6].sort());
    expect(sim.runner.argvs()).toContainEqual(["ip", "-4", "addr", "replace", "10.100.255.1/32", "dev", "wg-parker"]);
  });

  it("adopts nothing: a peer found on the interface stays, but is neither desired nor reported (ranges come only with an allocation)", async () => {
    const { edge, sim, agent } = await parkerAgent();
    await edge.until(() => edge.acks().length === 1);
    const domain = agent.domains.get("ffbs_parker")!;
    const nowS = Math.floor(Date.now() / 1000);
    // Live, shaped as a wgkex node (its own /128) and as a Parker node (ranges in the pools).
    const [nodeShaped, ranged] = publicKeys(2, 76) as [string, string];
    sim.peers.set(nodeShaped, {
      allowed: [`${linkLocal(nodeShaped, "wgkex")}/128`],
      handshake: nowS - 5,
      dev: "wg-parker",
    });
    sim.peers.set(ranged, { allowed: [R.a6, R.a4], handshake: nowS - 5, dev: "wg-parker" });
    const report = await domain.reconcile();
    expect(report.adoption).toBeUndefined();
    expect(domain.desired.adopted.size).toBe(0);
    await domain.maintain(["adopt", "load"]); // as at every welcome
    await edge.until(() => edge.ofType("load").length > 1);
    expect(edge.ofType("adopted")).toEqual([]);
    expect(sim.peers.has(nodeShaped) && sim.peers.has(ranged)).toBe(true);
  });

  it("refuses to run when the edge says the domain is not a Parker domain", async () => {
    const { edge, agent } = await parkerAgent({ edgeDataplane: "batman" });
    const domain = agent.domains.get("ffbs_parker")!;
    await edge.until(() => edge.hellos.length > 0);
    for (let i = 0; i < 50 && domain.fatal === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    expect(domain.fatal).toMatch(/is a batman domain but domains.ffbs_parker.mode is "parker"/);
  });
});
