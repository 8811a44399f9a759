import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DomainRegistry } from "../src/registry/domain-registry.ts";
import { REPAIR_LIMITS } from "../src/registry/registration/repair-limiter.ts";
import { VERIFY_WINDOW_MS } from "../src/registry/session/repair-requests.ts";
import {
  ADMIN_TOKEN,
  connectGateway,
  fetchEdge,
  freshKey,
  type GatewayClient,
  receiptOf,
  register,
} from "./helpers.ts";

const verified = (gw: GatewayClient): string[] => gw.frames.flatMap((f) => (f.type === "verify" ? f.keys : []));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A gateway that took the snapshot and acks everything it is sent from now on. */
async function ackingGateway(gateway: string, domain: string): Promise<GatewayClient> {
  const gw = await connectGateway(gateway, domain);
  gw.hello(0, true);
  await gw.until((fs) => fs.some((f) => f.type === "snapshot" && f.done), "snapshot");
  const head = gw.frames.find((f) => f.type === "welcome");
  if (head?.type === "welcome") gw.send({ type: "ack", seq: head.head });
  gw.ws.addEventListener("message", (event) => {
    const frame = JSON.parse(String(event.data)) as { type: string; entries?: Array<{ seq: number }> };
    if (frame.type === "peers") gw.send({ type: "ack", seq: frame.entries!.at(-1)!.seq });
  });
  return gw;
}

async function installedEverywhere(domain: string, key: string, gateways: string[]): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await (await receiptOf(domain, key)).json<{ gateways: Array<{ name: string; state: string }> }>();
    if (gateways.every((g) => r.gateways.find((x) => x.name === g)?.state === "installed")) return;
    await sleep(20);
  }
  throw new Error(`${key} not installed on ${gateways.join(", ")}`);
}

/** Everything a repeat could write: the log, the events, the acks. */
const durableState = (domain: string) =>
  runInDurableObject(env.DOMAIN_REGISTRY.getByName(domain), (_obj: DomainRegistry, state) =>
    JSON.stringify(
      ["registrations", "gateway_events", "acks", "gateways"].map((t) =>
        state.storage.sql.exec(`SELECT * FROM ${t} ORDER BY 1, 2`).toArray(),
      ),
    ),
  );

describe("a repeated registration is a repair signal", () => {
  it("asks every gateway that acknowledged the key to verify it: one frame per gateway, no write", async () => {
    const domain = "ffmuc_welt";
    const gw1 = await ackingGateway("gw01", domain);
    const gw2 = await ackingGateway("gw02", domain);
    const late = await connectGateway("gw03", domain); // live, but never acknowledges anything
    late.hello(0, true);
    await late.welcomed();
    const keys = [freshKey(), freshKey()];
    for (const key of keys) expect((await register(1, domain, key)).status).toBe(200);
    for (const key of keys) await installedEverywhere(domain, key, ["gw01", "gw02"]);

    const before = await durableState(domain);
    for (const key of keys) expect((await register(1, domain, key)).status).toBe(200);
    expect(await durableState(domain)).toBe(before);
    await gw1.until((fs) => fs.some((f) => f.type === "verify"), "verify");
    await gw2.until((fs) => fs.some((f) => f.type === "verify"), "verify");
    expect(gw1.frames.filter((f) => f.type === "verify")).toEqual([{ type: "verify", keys }]);
    expect(verified(gw2)).toEqual(keys);
    expect(verified(late)).toEqual([]);

    // A second repeat within the minute asks nobody again.
    expect((await register(1, domain, keys[0]!)).status).toBe(200);
    await sleep(VERIFY_WINDOW_MS + 200);
    expect(verified(gw1)).toEqual(keys);
    for (const gw of [gw1, gw2, late]) gw.close();
  });

  it("a v2 key is verified only on the gateway it was sent to", async () => {
    const domain = "ffmuc_muc_cty";
    const gw1 = await ackingGateway("gw01", domain);
    const gw2 = await ackingGateway("gw02", domain);
    for (const gw of [gw1, gw2]) {
      gw.send({
        type: "interface",
        public_key: freshKey(),
        port: 40011,
        address: `${gw.gateway}.example.net`,
        link_address: "fe80::1",
      });
      gw.send({ type: "load", connected: 0, load: 0, peers: 0 });
    }
    const key = freshKey();
    expect((await register(2, domain, key)).status).toBe(200);
    const target = (await (await receiptOf(domain, key)).json<{ target: string }>()).target;
    await installedEverywhere(domain, key, [target]);
    expect((await register(2, domain, key)).status).toBe(200);
    const [chosen, other] = target === "gw01" ? [gw1, gw2] : [gw2, gw1];
    await chosen.until((fs) => fs.some((f) => f.type === "verify"), "verify");
    expect(verified(chosen)).toEqual([key]);
    await sleep(VERIFY_WINDOW_MS + 100);
    expect(verified(other)).toEqual([]);
    gw1.close();
    gw2.close();
  });

  it("a gateway that could not install the key: receipt failed, and the next registration sends it out again", async () => {
    const domain = "ffmuc_gluon";
    const gw = await ackingGateway("gw01", domain);
    const key = freshKey();
    await register(1, domain, key);
    await installedEverywhere(domain, key, ["gw01"]);
    const seq = gw.entries().find((e) => e.public_key === key)!.seq;
    await register(1, domain, key);
    await gw.until((fs) => fs.some((f) => f.type === "verify"), "verify");
    gw.send({
      type: "verified",
      ok: 0,
      repaired: [],
      failed: [{ public_key: key, reason: "not installed: this gateway never got this key from the edge" }],
    });
    await sleep(50);
    const receipt = await (await receiptOf(domain, key)).json<{ gateways: Array<{ name: string; state: string }> }>();
    expect(receipt.gateways.find((g) => g.name === "gw01")?.state).toBe("failed");
    await register(1, domain, key);
    await gw.until(
      (fs) => fs.some((f) => f.type === "peers" && f.entries.some((e) => e.public_key === key && e.seq > seq)),
      "re-sent",
    );
    gw.close();
  });

  it("a storm of repeats: bounded by the domain's budget, counted, and each key at most once a minute", async () => {
    const domain = "ffmuc_welt";
    const gw = await ackingGateway("gw02", domain);
    const stub = env.DOMAIN_REGISTRY.getByName(domain);
    const keys = Array.from({ length: 1500 }, () => freshKey());
    // Straight to the object: a storm of requests without the Worker's per-address limiter.
    await runInDurableObject(stub, async (obj: DomainRegistry) => {
      await Promise.all(keys.map((publicKey) => obj.register({ publicKey, version: 1, source: "192.0.2.9" })));
    });
    await gw.until(
      (fs) => fs.some((f) => f.type === "peers" && f.entries.some((e) => e.public_key === keys.at(-1))),
      "all keys",
    );
    const acked = gw.entries().at(-1)!.seq;
    await gw.until(() => true, "acks");
    await sleep(100);
    const t0 = Date.now();
    await runInDurableObject(stub, async (obj: DomainRegistry) => {
      for (const publicKey of [...keys, ...keys]) await obj.register({ publicKey, version: 1, source: "192.0.2.9" });
    });
    const elapsedS = (Date.now() - t0) / 1000;
    await sleep(VERIFY_WINDOW_MS + 300);
    const asked = verified(gw);
    expect(new Set(asked).size).toBe(asked.length); // never twice within the minute
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.length).toBeLessThanOrEqual(REPAIR_LIMITS.burst + Math.ceil(elapsedS * REPAIR_LIMITS.perSecond) + 1);
    expect(
      gw.frames.filter((f) => f.type === "verify").every((f) => f.type === "verify" && f.keys.length <= 1000),
    ).toBe(true);
    expect(acked).toBeGreaterThan(0);
    const metrics = await (await fetchEdge("/metrics", { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    const limited = Number(
      /^wgkex_edge_repairs_total\{domain="ffmuc_welt",kind="limited"\} (\d+)$/m.exec(metrics)?.[1],
    );
    expect(limited).toBeGreaterThanOrEqual(3000 - asked.length - 10);
    gw.close();
  }, 60_000);
});
