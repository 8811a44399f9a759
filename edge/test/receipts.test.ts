import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { connectGateway, fetchEdge, freshKey, receiptOf, register } from "./helpers.ts";

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
});
