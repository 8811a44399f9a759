import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { connectGateway, freshKey, register } from "./helpers.ts";

// DomainRegistry takes its domain from ctx.id.name instead of carrying it in every call:
// these tests show the runtime provides it for every way the Worker reaches the object.
describe("the object knows its domain from its name", () => {
  it("through getByName and idFromName stubs", async () => {
    const domain = "ffmuc_muc_cty";
    const key = freshKey();
    expect((await register(1, domain, key)).status).toBe(200);
    const byName = env.DOMAIN_REGISTRY.getByName(domain);
    const byId = env.DOMAIN_REGISTRY.get(env.DOMAIN_REGISTRY.idFromName(domain));
    expect((await byName.receipt(key))?.domain).toBe(domain);
    expect((await byId.receipt(key))?.domain).toBe(domain);
    expect((await byId.status()).domain).toBe(domain);
  });

  it("after eviction, when a hibernated socket's message wakes it", async () => {
    const domain = "ffmuc_gluon";
    const gw = await connectGateway("gw02", domain);
    await evictDurableObject(env.DOMAIN_REGISTRY.getByName(domain));
    // The hello is the first thing the new instance handles: no stub call woke it.
    gw.hello(0);
    expect(await gw.welcomed()).toMatchObject({ domain, gateway: "gw02", variant: "gluon" });
    const key = freshKey();
    await register(1, domain, key);
    await gw.waitForKey(key);
    gw.close();
  });
});
