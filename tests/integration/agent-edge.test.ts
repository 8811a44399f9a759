import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type Agent, memoryLogger, parseConfig, startAgent, systemClock } from "@wgkex-edge/gateway-agent";
import { keyPair, SimHost } from "@wgkex-edge/gateway-agent/testing";
import { linkLocal } from "@wgkex-edge/shared";
import { afterEach, describe, expect, it } from "vitest";
import type { LocalEdge } from "../../edge/local/serve.ts";
import { randomKey, registerKey, startEdge, TEST_ADMIN_TOKEN, TEST_TOKENS, tempDir } from "../support/edge.ts";

/**
 * The real agent (its command layer on a simulated host) against the real edge in
 * workerd, over real WebSockets: what each side promises the other.
 */
const DOMAIN = "ffmuc_welt";
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Gateway {
  name: "gw01" | "gw02";
  dir: string;
  key: { privateKey: string; publicKey: string };
}

function gateway(name: "gw01" | "gw02"): Gateway {
  const dir = tempDir(`agent-${name}`);
  const key = keyPair();
  writeFileSync(path.join(dir, "wg.key"), `${key.privateKey}\n`, { mode: 0o600 });
  writeFileSync(path.join(dir, "token"), `${TEST_TOKENS[name]}\n`, { mode: 0o600 });
  mkdirSync(path.join(dir, "state"), { recursive: true });
  return { name, dir, key };
}

function agentConfig(edge: LocalEdge, gw: Gateway, other?: Gateway, extra = "") {
  return parseConfig(`gateway: ${gw.name}
edge: { url: "${edge.url.href}", token_file: ${gw.dir}/token, backoff_min_ms: 20, backoff_max_ms: 200 }
external_address: ${gw.name}.ext.example.net
domain_prefixes: [ffmuc_]
state_dir: ${gw.dir}/state
metrics: { listen: null }
${extra}
domains:
  ${DOMAIN}:
    listen_port: 40011
    private_key_file: ${gw.dir}/wg.key
    vni: 4831583
    batman: { enabled: false }
    static_peers: [${other ? `{ name: ${other.name}, public_key: "${other.key.publicKey}", endpoint: "192.0.2.9:40011" }` : ""}]
`);
}

async function runAgent(
  edge: LocalEdge,
  gw: Gateway,
  sim = new SimHost(),
  other?: Gateway,
): Promise<{ agent: Agent; sim: SimHost }> {
  const agent = await startAgent(agentConfig(edge, gw, other), {
    runner: sim.runner,
    logger: memoryLogger(),
    timers: false,
  });
  cleanups.push(() => agent.stop());
  return { agent, sim };
}

async function until(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function receipt(edge: LocalEdge, key: string) {
  const res = await fetch(
    new URL(`/api/v1/wg/key/status?domain=${DOMAIN}&public_key=${encodeURIComponent(key)}`, edge.url),
  );
  return (await res.json()) as {
    state: string;
    target: string;
    gateways: Array<{ name: string; state: string; reason: string | null }>;
  };
}

const installed = (sim: SimHost, key: string, variant: "wgkex" | "gluon" = "wgkex") =>
  sim.peers.get(key)?.allowed.includes(`${linkLocal(key, variant)}/128`) === true &&
  sim.routes.get("wg-welt")?.has(`${linkLocal(key, variant)}`) === true;

describe("gateway agent ↔ edge in workerd", () => {
  it("a v1 key is installed on both gateways and the receipt says so, per gateway", async () => {
    const edge = await startEdge();
    cleanups.push(() => edge.stop());
    const [g1, g2] = [gateway("gw01"), gateway("gw02")];
    const a1 = await runAgent(edge, g1, undefined, g2);
    const a2 = await runAgent(edge, g2, undefined, g1);
    const key = randomKey();
    expect((await registerKey(edge.url, DOMAIN, key)).status).toBe(200);
    await until(() => installed(a1.sim, key) && installed(a2.sim, key), "key on both gateways");
    await until(
      async () => (await receipt(edge, key)).gateways.every((g) => g.state === "installed"),
      "receipt installed",
    );
    // The other gateway stays a static peer on each side.
    expect(a1.sim.peers.has(g2.key.publicKey)).toBe(true);
  });

  it("v2 answers with the agent's reported interface and the key lands on that gateway only", async () => {
    const edge = await startEdge();
    cleanups.push(() => edge.stop());
    const [g1, g2] = [gateway("gw01"), gateway("gw02")];
    const a1 = await runAgent(edge, g1);
    const a2 = await runAgent(edge, g2);
    await Promise.all([a1.agent.reportLoad(), a2.agent.reportLoad()]);
    await until(async () => {
      const s = (await (await fetch(new URL("/api/v1/status", edge.url))).json()) as {
        domains: Array<{
          domain: string;
          gateways: Array<{ online: boolean; endpoint: unknown; last_report: string | null }>;
        }>;
      };
      return s.domains.find((d) => d.domain === DOMAIN)!.gateways.every((g) => g.online && g.endpoint && g.last_report);
    }, "both gateways reported");
    const key = randomKey();
    const res = await registerKey(edge.url, DOMAIN, key, 2);
    expect(res.status).toBe(200);
    const { Endpoint } = (await res.json()) as {
      Endpoint: { Address: string; Port: string; PublicKey: string; AllowedIPs: string[] };
    };
    const chosen = Endpoint.Address.startsWith("gw01")
      ? { gw: g1, sim: a1.sim, other: a2.sim }
      : { gw: g2, sim: a2.sim, other: a1.sim };
    expect(Endpoint).toEqual({
      Address: `${chosen.gw.name}.ext.example.net`,
      Port: "40011",
      PublicKey: chosen.gw.key.publicKey,
      AllowedIPs: [linkLocal(chosen.gw.key.publicKey, "wgkex")],
    });
    await until(() => installed(chosen.sim, key), "key on the chosen gateway");
    await a1.agent.idle();
    await a2.agent.idle();
    expect(chosen.other.peers.has(key)).toBe(false);
  });

  it("a stopped agent catches up by replay, and a crashed one loses nothing and doubles nothing", async () => {
    const edge = await startEdge();
    cleanups.push(() => edge.stop());
    const g1 = gateway("gw01");
    const sim = new SimHost();
    const first = await runAgent(edge, g1, sim);
    const before = Array.from({ length: 50 }, randomKey);
    for (const k of before) await registerKey(edge.url, DOMAIN, k);
    await until(() => before.every((k) => installed(sim, k)), "first keys");
    await first.agent.stop();

    const missed = Array.from({ length: 300 }, randomKey);
    await Promise.all(missed.map((k) => registerKey(edge.url, DOMAIN, k)));
    const second = await runAgent(edge, g1, sim);
    await until(() => missed.every((k) => installed(sim, k)), "missed keys replayed");
    expect(second.agent.domains.get(DOMAIN)?.hello().snapshot).toBe(false);

    second.agent.kill();
    const during = Array.from({ length: 200 }, randomKey);
    await Promise.all(during.map((k) => registerKey(edge.url, DOMAIN, k)));
    await runAgent(edge, g1, sim);
    await until(() => during.every((k) => installed(sim, k)), "keys registered while crashed");
    const all = [...before, ...missed, ...during];
    for (const k of all) expect(sim.peers.get(k)?.allowed).toEqual([`${linkLocal(k, "wgkex")}/128`]);
    await until(
      async () => (await receipt(edge, all.at(-1)!)).gateways.find((g) => g.name === "gw01")?.state === "installed",
      "receipt",
    );
  });

  it("a peer the agent's cleanup removed is reported, and goes out again when the node registers again", async () => {
    const edge = await startEdge();
    cleanups.push(() => edge.stop());
    const g1 = gateway("gw01");
    const sim = new SimHost();
    let now = Date.now();
    const agent = await startAgent(
      agentConfig(edge, g1, undefined, "cleanup: { interval_s: 60, stale_after_s: 600, grace_s: 60 }"),
      {
        runner: sim.runner,
        logger: memoryLogger(),
        timers: false,
        clock: { ...systemClock, now: () => now },
      },
    );
    cleanups.push(() => agent.stop());
    const key = randomKey();
    await registerKey(edge.url, DOMAIN, key);
    await until(() => installed(sim, key), "installed");
    now += 3_600_000; // never handshaked, far past the grace period
    await agent.cleanup();
    expect(sim.peers.has(key)).toBe(false);
    await until(async () => (await receipt(edge, key)).gateways[0]?.state === "removed", "receipt removed");
    expect((await registerKey(edge.url, DOMAIN, key)).status).toBe(200);
    await until(() => installed(sim, key), "installed again");
  });

  it("a key denied by the operator is removed from the gateway", async () => {
    const edge = await startEdge();
    cleanups.push(() => edge.stop());
    const sim = new SimHost();
    await runAgent(edge, gateway("gw01"), sim);
    const key = randomKey();
    await registerKey(edge.url, DOMAIN, key);
    await until(() => installed(sim, key), "installed");
    const res = await fetch(new URL(`/api/v1/admin/denylist/${encodeURIComponent(key)}`, edge.url), {
      method: "PUT",
      headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
      body: JSON.stringify({ reason: "abuse" }),
    });
    expect(res.status).toBe(200);
    await until(() => !sim.peers.has(key), "peer removed");
    expect(sim.routes.get("wg-welt")?.has(linkLocal(key, "wgkex"))).toBe(false);
  });

  it("a node that registers again is a repair signal: a peer lost behind the agent's back is back, and the edge counts it", async () => {
    const edge = await startEdge();
    cleanups.push(() => edge.stop());
    const [g1, g2] = [gateway("gw01"), gateway("gw02")];
    const a1 = await runAgent(edge, g1, undefined, g2);
    const a2 = await runAgent(edge, g2, undefined, g1);
    const key = randomKey();
    await registerKey(edge.url, DOMAIN, key);
    await until(
      async () => (await receipt(edge, key)).gateways.every((g) => g.state === "installed"),
      "installed on both gateways",
    );
    a1.sim.peers.delete(key); // wg set wg-welt peer K remove, by hand
    expect((await registerKey(edge.url, DOMAIN, key)).status).toBe(200); // the node's tunnel is down: it asks again
    await until(() => installed(a1.sim, key), "installed again on gw01");
    expect(installed(a2.sim, key)).toBe(true);
    const metrics = async () =>
      (await fetch(new URL("/metrics", edge.url), { headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })).text();
    await until(
      async () => /^wgkex_edge_repairs_total\{domain="ffmuc_welt",kind="done"\} 1$/m.test(await metrics()),
      "repair counted",
    );
    expect(await metrics()).toMatch(/^wgkex_edge_repairs_total\{domain="ffmuc_welt",kind="requested"\} 1$/m);
    expect(await a1.agent.metrics.registry.metrics()).toMatch(
      /^wgkex_agent_verified_keys_total\{domain="ffmuc_welt",result="repaired"\} 1$/m,
    );
    expect(await a2.agent.metrics.registry.metrics()).toMatch(
      /^wgkex_agent_verified_keys_total\{domain="ffmuc_welt",result="ok"\} 1$/m,
    );
  });
});
