import { linkLocal } from "@wgkex-edge/shared";
import { afterEach, describe, expect, it } from "vitest";
import { startAgent } from "../src/agent.ts";
import { memoryLogger } from "../src/log.ts";
import { readState } from "../src/state.ts";
import { FakeEdge } from "./helpers/fake-edge.ts";
import { publicKeys, testSetup } from "./helpers/fixtures.ts";
import { SimHost } from "./helpers/sim-host.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(
  options: { sim?: SimHost; dir?: string; edge?: FakeEdge; hooks?: Parameters<typeof startAgent>[1] } = {},
) {
  const edge = options.edge ?? (await FakeEdge.start());
  if (!options.edge) cleanups.push(() => edge.close());
  const t = testSetup({ edgeUrl: edge.url, ...(options.dir ? { dir: options.dir } : {}) });
  const sim = options.sim ?? new SimHost();
  const logger = memoryLogger();
  const agent = await startAgent(t.config, { runner: sim.runner, logger, timers: false, ...options.hooks });
  cleanups.push(() => agent.stop());
  return { edge, t, sim, agent, logger };
}

const peersOf = (sim: SimHost) => [...sim.peers.keys()];

describe("agent ↔ edge over a real WebSocket", () => {
  it("first start: bearer token, snapshot hello, interface + load frames, snapshot installed, ack head", async () => {
    const edge = await FakeEdge.start();
    cleanups.push(() => edge.close());
    const keys = publicKeys(1500, 21);
    edge.record(keys.map((key) => ({ key })));
    const { t, sim, agent, logger } = await setup({ edge });
    await edge.until(() => edge.acks().length > 0);
    expect(edge.badFrames).toEqual([]);
    expect(edge.hellos).toEqual([
      {
        since: 0,
        snapshot: true,
        auth: "Bearer secret-token",
        path: "/api/v1/gateways/gw01/domains/ffmuc_welt/socket",
      },
    ]);
    expect(edge.acks()).toEqual([{ type: "ack", seq: 1500 }]);
    const iface = edge.ofType("interface")[0]!;
    expect(iface).toEqual({
      type: "interface",
      public_key: t.gatewayKey.publicKey,
      port: 40011,
      address: "gw01.ext.example.net",
      link_address: linkLocal(t.gatewayKey.publicKey, "wgkex"),
    });
    await agent.reportLoad();
    await edge.until(() => edge.ofType("load").some((l) => l.peers === 1500));
    expect(edge.ofType("load").at(-1)).toEqual({ type: "load", connected: 0, load: 0, peers: 1500 });
    expect(
      peersOf(sim)
        .filter((k) => k !== t.staticKey)
        .sort(),
    ).toEqual([...keys].sort());
    expect(sim.routes.get("wg-welt")?.size).toBe(1501); // + static peer
    expect(sim.fdb.get("vx-welt")?.size).toBe(1501);
    expect(readState(t.config.state_dir, "ffmuc_welt")?.applied_seq).toBe(1500);
    // never the token in logs
    expect(JSON.stringify(logger.records)).not.toContain("secret-token");
    await agent.stop();
    expect(edge.closes).toContain(1000);
  });

  it("live registrations arriving together are one batch; ack after install", async () => {
    const { edge, sim, agent } = await setup();
    await edge.until(() => edge.acks().length === 1);
    sim.runner.clear();
    const keys = publicKeys(3000, 22);
    // three frames of 1000 back to back
    edge.publish(keys.map((key) => ({ key })));
    await edge.until(() => edge.acks().some((a) => a.seq === 3000));
    const spawns = sim.runner.argvs().filter((a) => !(a[0] === "wg" && a[1] === "show"));
    expect(spawns.length).toBeLessThanOrEqual(6);
    expect(edge.acks().at(-1)).toEqual({ type: "ack", seq: 3000 });
    for (const k of keys) expect(sim.peers.has(k)).toBe(true);
    // the ack came after the install: every acked key is present
    expect(agent.metrics.registry.getSingleMetric("wgkex_agent_batch_size")).toBeDefined();
  });

  it("a storm of single-key frames still becomes few batches, not a spawn per key", async () => {
    const { edge, sim } = await setup();
    await edge.until(() => edge.acks().length === 1);
    sim.runner.clear();
    const keys = publicKeys(400, 24);
    // One frame per key, a few milliseconds apart: what a live registration storm looks like.
    for (const [i, key] of keys.entries()) {
      edge.publish([{ key }]);
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 3));
    }
    await edge.until(() => edge.acks().some((a) => a.seq === edge.acks()[0]!.seq + 400));
    for (const k of keys) expect(sim.peers.has(k)).toBe(true);
    const spawns = sim.runner.argvs().filter((a) => !(a[0] === "wg" && a[1] === "show"));
    // 3 commands per batch; without coalescing this would be 3 x 400.
    expect(spawns.length).toBeLessThanOrEqual(30);
  });

  it("removes on op remove and reports failed keys in the ack without blocking the rest", async () => {
    const { edge, sim } = await setup();
    await edge.until(() => edge.acks().length === 1);
    const [a, b, c] = publicKeys(3, 23);
    sim.failKeys.add(b!);
    edge.publish([{ key: a! }, { key: b! }, { key: c! }]);
    await edge.until(() => edge.acks().some((x) => x.seq === 3));
    expect(edge.acks().at(-1)).toEqual({
      type: "ack",
      seq: 3,
      failed: [{ public_key: b, reason: "wg: Unable to modify interface: Invalid argument" }],
    });
    expect(sim.peers.has(a!) && sim.peers.has(c!)).toBe(true);
    edge.publish([{ key: a!, op: "remove" }]);
    await edge.until(() => edge.acks().some((x) => x.seq === 4));
    expect(sim.peers.has(a!)).toBe(false);
    expect(sim.routes.get("wg-welt")?.has(linkLocal(a!, "wgkex"))).toBe(false);
  });

  it("resumes with since = last applied seq after an edge outage, catching up on what it missed", async () => {
    const { edge, sim, agent } = await setup();
    await edge.until(() => edge.acks().length === 1);
    const first = publicKeys(10, 24);
    edge.publish(first.map((key) => ({ key })));
    await edge.until(() => edge.acks().some((a) => a.seq === 10));
    edge.down = true;
    edge.dropAll();
    const missed = publicKeys(5, 25);
    edge.record([...missed.map((key) => ({ key })), { key: first[0]!, op: "remove" as const }]);
    // the data plane keeps working while the edge is away
    expect(sim.peers.has(first[1]!)).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(agent.domains.get("ffmuc_welt")!.state.edge_connected).toBe(false);
    edge.down = false;
    await edge.until(() => edge.acks().some((a) => a.seq === 16));
    expect(edge.hellos.at(-1)).toMatchObject({ since: 10 });
    expect(edge.hellos.at(-1)?.snapshot).toBeUndefined();
    for (const k of missed) expect(sim.peers.has(k)).toBe(true);
    expect(sim.peers.has(first[0]!)).toBe(false);
  });

  it("snapshot removes managed peers that are not listed but never static peers", async () => {
    const sim = new SimHost();
    const { edge, t } = await setup({ sim });
    await edge.until(() => edge.acks().length === 1);
    const stray = publicKeys(3, 26);
    // peers that were installed by someone before (e.g. old state) and are not in the snapshot
    for (const k of stray)
      sim.peers.set(k, { allowed: [`${linkLocal(k, "wgkex")}/128`], handshake: 0, dev: "wg-welt" });
    const keep = publicKeys(2, 27);
    edge.record(keep.map((key) => ({ key })));
    edge.send({
      type: "welcome",
      v: 1,
      domain: "ffmuc_welt",
      gateway: "gw01",
      mode: "snapshot",
      head: 2,
      variant: "wgkex",
    });
    edge.send({ type: "snapshot", head: 2, keys: [keep[0]!], done: false });
    edge.send({ type: "snapshot", head: 2, keys: [keep[1]!, t.staticKey], done: true });
    await edge.until(() => edge.acks().some((a) => a.seq === 2));
    expect(peersOf(sim).sort()).toEqual([...keep, t.staticKey].sort());
  });

  it("refuses to run a domain whose variant differs, loudly", async () => {
    const edge = await FakeEdge.start();
    cleanups.push(() => edge.close());
    edge.variant = "gluon";
    const { logger, agent } = await setup({ edge });
    await edge.until(() => edge.closes.length > 0);
    const d = agent.domains.get("ffmuc_welt")!;
    expect(d.fatal).toContain('uses address variant "gluon" but domains.ffmuc_welt.variant is "wgkex"');
    expect(logger.records.some((r) => r.level === "error" && String(r.msg).includes("refusing to run"))).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(edge.hellos).toHaveLength(1); // no reconnect
    expect(edge.acks()).toEqual([]);
  });

  it("crash between install and state write: restart re-applies from the last written seq, nothing lost or doubled", async () => {
    const edge = await FakeEdge.start();
    cleanups.push(() => edge.close());
    const sim = new SimHost();
    const first = await setup({ edge, sim });
    await edge.until(() => edge.acks().length === 1);
    const a = publicKeys(5, 28);
    edge.publish(a.map((key) => ({ key })));
    await edge.until(() => edge.acks().some((x) => x.seq === 5));
    // now crash after installing the next batch, before its state is written
    let crashed = false;
    const second = await startAgent(first.t.config, {
      runner: sim.runner,
      logger: memoryLogger(),
      timers: false,
      hooks: {
        beforeStateWrite: (_d, seq) => {
          if (seq === 8 && !crashed) {
            crashed = true;
            second.kill();
            throw new Error("crash");
          }
        },
      },
    });
    await first.agent.stop(); // the second agent replaced the first
    await edge.until(() => edge.hellos.length >= 2 && edge.sockets.length === 1);
    const b = publicKeys(3, 29);
    edge.publish(b.map((key) => ({ key })));
    await edge.until(() => crashed);
    expect(readState(first.t.config.state_dir, "ffmuc_welt")?.applied_seq).toBe(5);
    for (const k of b) expect(sim.peers.has(k)).toBe(true); // installed but not recorded
    // restart
    const third = await startAgent(first.t.config, { runner: sim.runner, logger: memoryLogger(), timers: false });
    cleanups.push(() => third.stop());
    await edge.until(() => edge.acks().some((x) => x.seq === 8));
    expect(edge.hellos.at(-1)?.since).toBe(5);
    expect(readState(first.t.config.state_dir, "ffmuc_welt")?.applied_seq).toBe(8);
    const ours = [...sim.peers.keys()].filter((k) => k !== first.t.staticKey);
    expect(ours.sort()).toEqual([...a, ...b].sort());
    for (const k of [...a, ...b]) expect(sim.peers.get(k)!.allowed).toEqual([`${linkLocal(k, "wgkex")}/128`]);
  });

  it("reconnects with backoff after the edge drops the socket", async () => {
    const { edge } = await setup();
    await edge.until(() => edge.acks().length === 1);
    for (let i = 0; i < 3; i++) {
      const before = edge.hellos.length;
      edge.dropAll();
      await edge.until(() => edge.hellos.length > before);
    }
    expect(edge.hellos.length).toBe(4);
    expect(edge.hellos.slice(1).every((h) => h.since === 0 || h.since === edge.head)).toBe(true);
  });

  it("terminates a socket whose edge stops answering pings, then reconnects", async () => {
    const edge = await FakeEdge.start();
    cleanups.push(() => edge.close());
    const t = testSetup({ edgeUrl: edge.url });
    const config = { ...t.config, edge: { ...t.config.edge, ping_interval_s: 1 } };
    const agent = await startAgent(config, { runner: new SimHost().runner, logger: memoryLogger(), timers: false });
    cleanups.push(() => agent.stop());
    await edge.until(() => edge.acks().length === 1);
    // stop reading: pings stay unanswered
    (edge.sockets[0] as unknown as { _socket: { pause(): void } })._socket.pause();
    await edge.until(() => edge.hellos.length === 2, 5000);
    expect(edge.hellos[1]!.since).toBe(0);
  });

  it("stale cleanup reports removed keys and live keys to the edge", async () => {
    const sim = new SimHost();
    const { edge, agent, t } = await setup({ sim });
    await edge.until(() => edge.acks().length === 1);
    const [live, stale] = publicKeys(2, 30);
    edge.publish([{ key: live! }, { key: stale! }]);
    await edge.until(() => edge.acks().some((a) => a.seq === 2));
    const nowS = Math.floor(Date.now() / 1000);
    sim.peers.get(live!)!.handshake = nowS - 10;
    sim.peers.get(stale!)!.handshake = nowS - 20_000;
    sim.peers.get(t.staticKey)!.handshake = nowS - 99_999;
    await agent.cleanup();
    await agent.reportLive();
    await agent.reportLoad();
    await edge.until(() => edge.ofType("removed").length > 0 && edge.ofType("live").length > 0);
    const removed = edge.ofType("removed")[0]!;
    expect(removed.entries.map((e) => e.public_key)).toEqual([stale]);
    expect(removed.entries[0]!.reason).toMatch(/^stale: last handshake \d+ s ago/);
    expect(edge.ofType("live")[0]).toEqual({ type: "live", keys: [live] });
    await edge.until(() => edge.ofType("load").some((l) => l.connected === 1));
    expect(edge.ofType("load").at(-1)).toEqual({ type: "load", connected: 1, load: 1, peers: 1 });
    expect(sim.peers.has(t.staticKey)).toBe(true);
  });
});
