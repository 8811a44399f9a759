import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  adminFetch,
  connectGateway,
  fetchEdge,
  freshIp,
  freshKey,
  gluonBody,
  operatorReceiptOf,
  post,
  receiptOf,
  register,
} from "./helpers.ts";

const DOMAIN = "ffmuc_welt";

describe("receipts", () => {
  it("validates its query with messages that say how to fix it", async () => {
    const noDomain = await fetchEdge(`/api/v1/wg/key/status?public_key=${encodeURIComponent(freshKey())}`);
    expect(noDomain.status).toBe(400);
    expect(((await noDomain.json()) as { error: { message: string } }).error.message).toMatch(/^domain: /);
    const badKey = await fetchEdge(`/api/v1/wg/key/status?domain=${DOMAIN}&public_key=abc`);
    expect(((await badKey.json()) as { error: { message: string } }).error.message).toMatch(/^public_key: .*%2B/);
    expect((await receiptOf(DOMAIN, freshKey())).status).toBe(404);
  });

  it("tells failures and removals reported by agents, and sends the key out again when the node re-registers", async () => {
    const gw = await connectGateway("gw03", DOMAIN);
    gw.hello(0);
    await gw.welcomed();
    const failing = freshKey();
    const stale = freshKey();
    await register(1, DOMAIN, failing);
    await register(1, DOMAIN, stale);
    await gw.waitForKey(stale);
    const last = gw.entries().at(-1)!.seq;
    gw.send({ type: "ack", seq: last, failed: [{ public_key: failing, reason: "wg: exit status 1" }] });
    gw.send({
      type: "removed",
      entries: [{ public_key: stale, reason: "stale: no handshake for 3h", at: Date.now() }],
    });

    type Gateways = { gateways: Array<{ name: string; state: string; reason?: string }> };
    const r1 = await (await receiptOf(DOMAIN, failing)).json<Gateways>();
    expect(r1.gateways.find((g) => g.name === "gw03")).toEqual({
      name: "gw03",
      state: "failed",
      at: expect.any(String),
    });
    const r2 = await (await receiptOf(DOMAIN, stale)).json<Gateways>();
    expect(r2.gateways.find((g) => g.name === "gw03")).toEqual({
      name: "gw03",
      state: "removed",
      at: expect.any(String),
    });
    // The agents' texts are for operators.
    const o1 = await (await operatorReceiptOf(DOMAIN, failing)).json<Gateways>();
    expect(o1.gateways.find((g) => g.name === "gw03")).toMatchObject({ state: "failed", reason: "wg: exit status 1" });
    const o2 = await (await operatorReceiptOf(DOMAIN, stale)).json<Gateways>();
    expect(o2.gateways.find((g) => g.name === "gw03")).toMatchObject({
      state: "removed",
      reason: "stale: no handshake for 3h",
    });

    // Re-registering is what a node whose tunnel broke does: the key goes out again.
    await register(1, DOMAIN, stale);
    await gw.until(() => gw.entries().filter((e) => e.public_key === stale).length === 2, "stale key re-sent");
    const r3 = await (await receiptOf(DOMAIN, stale)).json<{ gateways: Array<{ name: string; state: string }> }>();
    expect(r3.gateways.find((g) => g.name === "gw03")?.state).toBe("pending");
    gw.close();
  });

  it("answers a repeated registration of a healthy key without writing or fanning out", async () => {
    const gw = await connectGateway("gw01", "ffmuc_muc_cty");
    gw.hello(0);
    await gw.welcomed();
    const key = freshKey();
    await register(1, "ffmuc_muc_cty", key);
    await gw.waitForKey(key);
    const stub = env.DOMAIN_REGISTRY.getByName("ffmuc_muc_cty");
    const before = await stub.receipt(key);
    await register(1, "ffmuc_muc_cty", key);
    await register(1, "ffmuc_muc_cty", key);
    const after = await stub.receipt(key);
    expect(after?.seq).toBe(before?.seq);
    const marker = freshKey();
    await register(1, "ffmuc_muc_cty", marker);
    await gw.waitForKey(marker);
    expect(gw.entries().filter((e) => e.public_key === key)).toHaveLength(1);
    gw.close();
  });

  it("shows anyone registration and installation only: no deny reason, agent text or last-online time (issue 12)", async () => {
    const gw = await connectGateway("gw01", DOMAIN);
    gw.hello(0);
    await gw.welcomed();
    const key = freshKey();
    await register(1, DOMAIN, key);
    await gw.waitForKey(key);
    gw.send({ type: "live", keys: [key] });
    // Frames and requests take different paths: wait until the report is applied.
    for (let i = 0; i < 100; i++) {
      const seen = await (await operatorReceiptOf(DOMAIN, key)).json<{ last_live_at: string | null }>();
      if (seen.last_live_at !== null) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const reason = "abuse report #4711 from alice@example.org";
    const deny = await adminFetch(`/api/v1/admin/denylist/${encodeURIComponent(key)}`, {
      method: "PUT",
      body: JSON.stringify({ reason, domains: [DOMAIN] }),
    });
    expect(deny.status).toBe(200);

    const text = await (await receiptOf(DOMAIN, key)).text();
    expect(text).not.toContain("alice");
    expect(text).not.toContain("4711");
    const receipt = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(receipt).sort()).toEqual(
      [
        "domain",
        "public_key",
        "state",
        "seq",
        "registered_at",
        "last_registered_at",
        "removed_at",
        "removed_reason",
        "target",
        "origin",
        "gateways",
      ].sort(),
    );
    expect(receipt).toMatchObject({ state: "removed", removed_reason: "denied" });

    const operator = await (await operatorReceiptOf(DOMAIN, key)).json<Record<string, unknown>>();
    expect(operator).toMatchObject({ removed_reason: `denied: ${reason}`, last_live_at: expect.any(String) });
    expect((await fetchEdge(`/api/v1/admin/keys/${encodeURIComponent(key)}?domain=${DOMAIN}`)).status).toBe(401);
    await adminFetch(`/api/v1/admin/denylist/${encodeURIComponent(key)}`, { method: "DELETE" });
    gw.close();
  });

  it("are limited per client address like the node API, apart from it: polling receipts cannot starve the object (issue 12)", async () => {
    // The test's NODE_LIMITER: 20 a minute per address.
    const ip = freshIp();
    const key = freshKey();
    expect((await post(1, gluonBody(DOMAIN, key), { ip })).status).toBe(200);
    const answers: number[] = [];
    for (let i = 0; i < 20; i++) answers.push((await receiptOf(DOMAIN, key, ip)).status);
    expect(answers).toEqual(Array(20).fill(200));
    const limited = await receiptOf(DOMAIN, key, ip);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThanOrEqual(60);
    expect(await limited.json()).toEqual({
      error: { message: "too many receipt requests from your address; try again in a minute" },
    });
    // Another address still gets its receipt; the router at this address still registers.
    expect((await receiptOf(DOMAIN, key)).status).toBe(200);
    expect((await post(1, gluonBody(DOMAIN, freshKey()), { ip })).status).toBe(200);
    // Requests the Worker refuses without asking the object do not count.
    const other = freshIp();
    for (let i = 0; i < 25; i++) {
      const bad = await fetchEdge(`/api/v1/wg/key/status?domain=${DOMAIN}&public_key=abc`, {
        headers: { "CF-Connecting-IP": other },
      });
      expect(bad.status).toBe(400);
    }
    expect((await receiptOf(DOMAIN, key, other)).status).toBe(200);
  });
});
