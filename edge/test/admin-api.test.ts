import { describe, expect, it } from "vitest";
import { adminFetch, connectGateway, fetchEdge, freshKey, register } from "./helpers.ts";

const DOMAIN = "ffmuc_welt";
const INTERNAL = '{"error":{"message":"An internal error has occurred. Please try again later."}}\n';

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
    ).toEqual(["ffmuc_gluon", "ffmuc_muc_cty", "ffmuc_parker", "ffmuc_welt"]);
    expect(list.entries.find((e) => e.public_key === key)?.reason).toBe("abuse report #12");

    const del = await adminFetch(`/api/v1/admin/denylist/${encodeURIComponent(key)}`, { method: "DELETE" });
    expect(await del.json()).toEqual({
      public_key: key,
      removed_from: ["ffmuc_welt", "ffmuc_muc_cty", "ffmuc_gluon", "ffmuc_parker"],
    });
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

  it("reads bodies as JSON whatever the Content-Type says, and names the field that is wrong", async () => {
    const key = encodeURIComponent(freshKey());
    for (const type of ["application/x-www-form-urlencoded", "text/plain", "application/json"]) {
      const res = await adminFetch(`/api/v1/admin/denylist/${key}`, {
        method: "PUT",
        headers: { "Content-Type": type },
        body: JSON.stringify({ reason: "curl -d", domains: ["ffmuc_gluon"] }),
      });
      expect(res.status).toBe(200);
    }
    for (const body of ["reason=x", undefined]) {
      const notJson = await adminFetch(`/api/v1/admin/denylist/${key}`, { method: "PUT", body });
      expect(await notJson.json()).toEqual({ error: { message: "body: must be JSON" } });
    }
    const ttl = await adminFetch(`/api/v1/admin/denylist/${key}`, {
      method: "PUT",
      body: JSON.stringify({ reason: "x", ttl_s: -5 }),
    });
    expect(await ttl.json()).toEqual({ error: { message: expect.stringMatching(/^ttl_s: /) } });
    const domains = await adminFetch(`/api/v1/admin/denylist/${key}`, {
      method: "PUT",
      body: JSON.stringify({ reason: "x", domains: ["ffmuc_welt", 7] }),
    });
    expect(await domains.json()).toEqual({ error: { message: expect.stringMatching(/^domains\[1\]: /) } });
    const drain = await adminFetch("/api/v1/admin/gateways/gw01/drain", { method: "PUT", body: '{"drain":"yes"}' });
    expect(drain.status).toBe(400);
    expect(await drain.json()).toEqual({ error: { message: 'drain: expected true or false, e.g. {"drain": true}' } });
    await adminFetch(`/api/v1/admin/denylist/${key}`, { method: "DELETE" });
  });
});
