import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { answer } from "./fixtures/wgkex/answers.ts";
import { connectGateway, failRegistrationWrites, freshKey, receiptOf, register } from "./helpers.ts";

// What wgkex (Werkzeug) answers when a view fails unexpectedly: its HTML 500 page.
const INTERNAL_500 = answer("v1 unexpected server error (MQTT publish raises)").response.body;

describe("group commit and durability", () => {
  it("a registration whose write fails is not answered OK, and nothing of it is kept or sent", async () => {
    const domain = "ffmuc_gluon";
    const gw = await connectGateway("gw01", domain);
    gw.hello(0);
    await gw.welcomed();
    const key = freshKey();
    const undo = await failRegistrationWrites(domain);
    const res = await register(1, domain, key);
    await undo();
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

  it("a failed write rejects every registration of its batch, also when a reader committed it early", async () => {
    const domain = "ffmuc_muc_cty";
    const stub = env.DOMAIN_REGISTRY.getByName(domain);
    const keys = Array.from({ length: 8 }, () => freshKey());
    const undo = await failRegistrationWrites(domain);
    // Called in one synchronous turn of the object: the registrations are staged into one
    // batch, and the receipt's read commits that batch before the group commit's timer.
    const { settled, readError } = await runInDurableObject(stub, async (obj) => {
      const pending = keys.map((key) => obj.register({ publicKey: key, version: 1, source: "192.0.2.1" }));
      let readError = "";
      try {
        obj.receipt(keys[0]!);
      } catch (error) {
        readError = String(error);
      }
      return { settled: await Promise.allSettled(pending), readError };
    });
    await undo();
    expect(readError).toMatch(/SQLITE_FULL/);
    expect(settled.map((r) => r.status)).toEqual(keys.map(() => "rejected"));
    for (const r of settled) expect(String(r.status === "rejected" && r.reason)).toMatch(/SQLITE_FULL/);
    for (const key of keys) expect((await receiptOf(domain, key)).status).toBe(404);
    // The log goes on: the same keys register fine afterwards.
    for (const key of keys) expect((await register(1, domain, key)).status).toBe(200);
  });
});
