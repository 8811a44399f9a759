import { linkLocal } from "@wgkex-edge/shared";
import { describe, expect, it } from "vitest";
import { memoryLogger, readState, startAgent } from "../src/index.ts";
import { publicKeys, SimHost, testSetup } from "../testing/index.ts";
import { defer, peersOf, startEdge, startTestAgent } from "./support/agent.ts";

describe("the agent's session with the edge, over a real WebSocket", () => {
  it("first start: bearer token, snapshot hello, interface + load frames, snapshot installed, ack head", async () => {
    const edge = await startEdge();
    const keys = publicKeys(1500, 21);
    edge.record(keys.map((key) => ({ key })));
    const { t, sim, agent, logger } = await startTestAgent({ edge });
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

  it("resumes with since = last applied seq after an edge outage, catching up on what it missed", async () => {
    const { edge, sim, agent } = await startTestAgent();
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

  it("refuses to run a domain whose variant differs, loudly", async () => {
    const edge = await startEdge();
    edge.variant = "gluon";
    const { logger, agent } = await startTestAgent({ edge });
    await edge.until(() => edge.closes.length > 0);
    const d = agent.domains.get("ffmuc_welt")!;
    expect(d.fatal).toContain('uses address variant "gluon" but domains.ffmuc_welt.variant is "wgkex"');
    expect(logger.records.some((r) => r.level === "error" && String(r.msg).includes("refusing to run"))).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(edge.hellos).toHaveLength(1); // no reconnect
    expect(edge.acks()).toEqual([]);
  });

  it("reconnects with backoff after the edge drops the socket", async () => {
    const { edge } = await startTestAgent();
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
    const edge = await startEdge();
    const t = testSetup({ edgeUrl: edge.url });
    const config = { ...t.config, edge: { ...t.config.edge, ping_interval_s: 1 } };
    const agent = await startAgent(config, { runner: new SimHost().runner, logger: memoryLogger(), timers: false });
    defer(() => agent.stop());
    await edge.until(() => edge.acks().length === 1);
    // stop reading: pings stay unanswered
    (edge.sockets[0] as unknown as { _socket: { pause(): void } })._socket.pause();
    await edge.until(() => edge.hellos.length === 2, 5000);
    expect(edge.hellos[1]!.since).toBe(0);
  });

  it("errors whose verdict is stop (not_configured, unsupported_version) end the session for good; the data plane stays", async () => {
    for (const code of ["not_configured", "unsupported_version"] as const) {
      const { edge, sim, agent, logger } = await startTestAgent();
      await edge.until(() => edge.acks().length === 1);
      const [key] = publicKeys(1, code.length);
      edge.publish([{ key: key! }]);
      await edge.until(() => edge.acks().some((a) => a.seq === 1));
      edge.refuse(code);
      await edge.until(() => edge.sockets.length === 0);
      await new Promise((r) => setTimeout(r, 300)); // longer than backoff_max_ms (200): a retry would be here
      expect(edge.hellos).toHaveLength(1);
      const d = agent.domains.get("ffmuc_welt")!;
      expect(d.session.state).toBe("stopped");
      expect(d.fatal).toBeUndefined(); // not a refusal of the domain: its data plane is left as it is
      expect(sim.peers.has(key!)).toBe(true);
      // One clear line says what happened and that the agent will not come back by itself.
      const told = logger.records.filter((r) => r.code === code);
      expect(told).toEqual([
        expect.objectContaining({
          level: "error",
          msg: expect.stringMatching(
            /^edge refused domain ffmuc_welt: .*; not reconnecting until wgkex-agent restarts/,
          ),
        }),
      ]);
      expect(logger.records.filter((r) => r.code !== code && /reconnect/.test(r.msg))).toEqual([]);
    }
  });

  it("errors replaced and over_budget yield: the next hello waits for the longest backoff; internal and bad_frame retry", async () => {
    const edge = await startEdge();
    // No jitter: a plain retry reconnects at once, only the yield waits.
    const { agent } = await startTestAgent({ edge, options: { random: () => 0 } });
    await edge.until(() => edge.acks().length === 1);
    for (const code of ["internal", "bad_frame"] as const) {
      const acked = edge.acks().length;
      edge.refuse(code);
      await edge.until(() => edge.acks().length > acked); // reconnected, welcomed, snapshot acked
    }
    expect(edge.hellos.map((h) => h.since)).toEqual([0, 0, 0]);
    const refusedAt = performance.now();
    edge.refuse("replaced");
    await edge.until(() => edge.hellos.length === 4);
    // backoff_max_ms is 200; timers may fire a millisecond early
    expect(performance.now() - refusedAt).toBeGreaterThanOrEqual(199);
    await edge.until(() => edge.acks().length === 4);
    // Over its budget, the agent slows down the same way.
    const overAt = performance.now();
    edge.refuse("over_budget");
    await edge.until(() => edge.hellos.length === 5);
    expect(performance.now() - overAt).toBeGreaterThanOrEqual(199);
    await edge.until(() => edge.acks().length === 5);
    expect(agent.domains.get("ffmuc_welt")!.session.state).toBe("live");
  });
});
