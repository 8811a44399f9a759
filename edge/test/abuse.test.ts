import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DomainRegistry } from "../src/registry/domain-registry.ts";
import { answer } from "./fixtures/wgkex/answers.ts";
import { adminFetch, connectGateway, fetchEdge, freshKey, receiptOf, register } from "./helpers.ts";

const DOMAIN = "ffmuc_welt";
const INTERNAL = '{"error":{"message":"An internal error has occurred. Please try again later."}}\n';
// What wgkex (Werkzeug) answers when a view fails unexpectedly: its HTML 500 page.
const INTERNAL_500 = answer("v1 unexpected server error (MQTT publish raises)").response.body;

describe("per-key limits inside the domain's object", () => {
  it("throttles a key past per_key, then bans it; other keys are unaffected", async () => {
    const key = freshKey();
    const statuses: number[] = [];
    const retries: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await register(1, DOMAIN, key); // a fresh address each time: only the key limit applies
      statuses.push(res.status);
      if (res.status === 429) retries.push(Number(res.headers.get("Retry-After")));
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.slice(3).every((s) => s === 429)).toBe(true);
    // After ban_after (5) throttled requests the ban (900 s, jittered up to +50%) applies.
    expect(retries.at(-1)).toBeGreaterThanOrEqual(900);
    expect(retries.at(-1)).toBeLessThanOrEqual(1350);
    expect((await register(1, DOMAIN, freshKey())).status).toBe(200);
  });

  it("stores and fans out nothing for a throttled request", async () => {
    const gw = await connectGateway("gw01", DOMAIN);
    gw.hello(0);
    await gw.welcomed();
    const key = freshKey();
    for (let i = 0; i < 6; i++) await register(1, DOMAIN, key);
    const marker = freshKey();
    await register(1, DOMAIN, marker);
    await gw.waitForKey(marker);
    expect(gw.entries().filter((e) => e.public_key === key)).toHaveLength(1);
    gw.close();
  });
});

describe("deny list (admin API)", () => {
  it("requires the admin token", async () => {
    for (const auth of [undefined, "Bearer wrong", "Basic x"]) {
      const res = await fetchEdge("/api/v1/admin/denylist", { headers: auth ? { Authorization: auth } : {} });
      expect(res.status).toBe(401);
    }
  });

  it("denies a key: generic 400, never reaches a gateway, removed where it was; expiry and removal work", async () => {
    const gw = await connectGateway("gw02", DOMAIN);
    gw.hello(0);
    await gw.welcomed();
    const key = freshKey();
    expect((await register(1, DOMAIN, key)).status).toBe(200);
    await gw.waitForKey(key);

    const put = await adminFetch(`/api/v1/admin/denylist/${encodeURIComponent(key)}`, {
      method: "PUT",
      body: JSON.stringify({ reason: "abuse report #12" }),
    });
    expect(put.status).toBe(200);
    await gw.waitForKey(key, "remove");

    const res = await register(1, DOMAIN, key);
    expect(res.status).toBe(400);
    expect(await res.text()).toBe(INTERNAL);
    expect((await register(2, DOMAIN, key)).status).toBe(400);

    const list = await (await adminFetch("/api/v1/admin/denylist")).json<{
      entries: Array<{ public_key: string; reason: string; domain: string }>;
    }>();
    expect(
      list.entries
        .filter((e) => e.public_key === key)
        .map((e) => e.domain)
        .sort(),
    ).toEqual(["ffmuc_gluon", "ffmuc_muc_cty", "ffmuc_welt"]);
    expect(list.entries.find((e) => e.public_key === key)?.reason).toBe("abuse report #12");

    const del = await adminFetch(`/api/v1/admin/denylist/${encodeURIComponent(key)}`, { method: "DELETE" });
    expect(await del.json()).toEqual({ public_key: key, removed_from: ["ffmuc_welt", "ffmuc_muc_cty", "ffmuc_gluon"] });
    expect((await register(1, DOMAIN, key)).status).toBe(200);
    await gw.until(() => gw.entries().filter((e) => e.public_key === key && e.op === "add").length === 2, "re-added");
    gw.close();
  });

  it("lets entries expire", async () => {
    const key = freshKey();
    await adminFetch(`/api/v1/admin/denylist/${encodeURIComponent(key)}`, {
      method: "PUT",
      body: JSON.stringify({ reason: "short", ttl_s: 1, domains: ["ffmuc_muc_cty"] }),
    });
    expect((await register(1, "ffmuc_muc_cty", key)).status).toBe(400);
    expect((await register(1, DOMAIN, key)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await register(1, "ffmuc_muc_cty", key)).status).toBe(200);
  });

  it("explains bad admin input precisely", async () => {
    const bad = await adminFetch("/api/v1/admin/denylist/notakey", { method: "PUT", body: "{}" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: { message: expect.stringMatching(/^public key: must be 44 characters/) },
    });
    const noReason = await adminFetch(`/api/v1/admin/denylist/${encodeURIComponent(freshKey())}`, {
      method: "PUT",
      body: "{}",
    });
    expect(await noReason.json()).toEqual({ error: { message: expect.stringMatching(/^reason: /) } });
    const badDomain = await adminFetch(`/api/v1/admin/denylist/${encodeURIComponent(freshKey())}`, {
      method: "PUT",
      body: JSON.stringify({ reason: "x", domains: ["nope"] }),
    });
    expect(await badDomain.json()).toEqual({ error: { message: "domains: unknown nope" } });
    const drain = await adminFetch("/api/v1/admin/gateways/gw99/drain", { method: "PUT", body: '{"drain":true}' });
    expect(drain.status).toBe(404);
  });
});

describe("durability", () => {
  it("a registration whose write fails is not answered OK, and nothing of it is kept or sent", async () => {
    const domain = "ffmuc_gluon";
    const gw = await connectGateway("gw01", domain);
    gw.hello(0);
    await gw.welcomed();
    const stub = env.DOMAIN_REGISTRY.getByName(domain);
    const key = freshKey();
    await runInDurableObject(stub, (obj: DomainRegistry) => {
      const store = (obj as unknown as { store: { writeRegistration: () => void } }).store;
      const original = store.writeRegistration;
      store.writeRegistration = () => {
        store.writeRegistration = original;
        throw new Error("SQLITE_FULL: database or disk is full");
      };
    });
    const res = await register(1, domain, key);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe(INTERNAL_500);
    expect((await receiptOf(domain, key)).status).toBe(404);
    // The next registration works and is the first thing the gateway hears of.
    const next = freshKey();
    expect((await register(1, domain, next)).status).toBe(200);
    await gw.waitForKey(next);
    expect(gw.entries().some((e) => e.public_key === key)).toBe(false);
    gw.close();
  });
});

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

    const r1 = await (await receiptOf(DOMAIN, failing)).json<{
      gateways: Array<{ name: string; state: string; reason: string }>;
    }>();
    expect(r1.gateways.find((g) => g.name === "gw03")).toMatchObject({ state: "failed", reason: "wg: exit status 1" });
    const r2 = await (await receiptOf(DOMAIN, stale)).json<{
      gateways: Array<{ name: string; state: string; reason: string }>;
    }>();
    expect(r2.gateways.find((g) => g.name === "gw03")).toMatchObject({
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
    const before = await stub.receipt("ffmuc_muc_cty", key);
    await register(1, "ffmuc_muc_cty", key);
    await register(1, "ffmuc_muc_cty", key);
    const after = await stub.receipt("ffmuc_muc_cty", key);
    expect(after?.seq).toBe(before?.seq);
    const marker = freshKey();
    await register(1, "ffmuc_muc_cty", marker);
    await gw.waitForKey(marker);
    expect(gw.entries().filter((e) => e.public_key === key)).toHaveLength(1);
    gw.close();
  });
});
