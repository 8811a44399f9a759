import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { EdgeStatus } from "../src/stats/collect.ts";
import { adminFetch, connectGateway, fetchEdge, freshKey, register } from "./helpers.ts";

// Issue 12, section 4: bad admin input gets a clear 400 and changes nothing; an admin write
// that fails in one domain is undone in the others.

const denyPath = (key: string) => `/api/v1/admin/denylist/${encodeURIComponent(key)}`;
type Entries = { entries: Array<{ domain: string; public_key: string; expires_at: string | null }> };

async function entriesOf(key: string) {
  const res = await adminFetch("/api/v1/admin/denylist");
  expect(res.status).toBe(200);
  return (await res.json<Entries>()).entries.filter((e) => e.public_key === key);
}

/** Make one domain's object fail a write to `table`, as a broken disk would; returns the undo. */
async function failWrites(domain: string, table: string, op: "INSERT" | "UPDATE" | "DELETE") {
  const stub = env.DOMAIN_REGISTRY.getByName(domain);
  const name = `test_fail_${table}_${op.toLowerCase()}`;
  await runInDurableObject(stub, (_obj, state) => {
    state.storage.sql.exec(
      `CREATE TRIGGER ${name} BEFORE ${op} ON ${table} BEGIN SELECT RAISE(ABORT, 'SQLITE_IOERR: disk I/O error'); END`,
    );
  });
  return () => runInDurableObject(stub, (_obj, state) => state.storage.sql.exec(`DROP TRIGGER ${name}`));
}

afterEach(() => vi.restoreAllMocks());

describe("admin input with ranges that overflow", () => {
  it("refuses ttl_s 1e13 with 400 and stores nothing; the list keeps answering (it used to 500 until deleted)", async () => {
    const key = freshKey();
    for (const ttl of [1e13, 315_360_001]) {
      const res = await adminFetch(denyPath(key), { method: "PUT", body: JSON.stringify({ reason: "x", ttl_s: ttl }) });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: { message: "ttl_s: at most 315360000 (10 years); leave it out to deny until lifted" },
      });
    }
    expect(await entriesOf(key)).toEqual([]);
    expect((await register(1, "ffmuc_welt", key)).status).toBe(200);
    const tenYears = await adminFetch(denyPath(key), {
      method: "PUT",
      body: JSON.stringify({ reason: "x", ttl_s: 315_360_000, domains: ["ffmuc_welt", "ffmuc_welt"] }),
    });
    expect(tenYears.status).toBe(200);
    expect(await tenYears.json()).toMatchObject({
      domains: ["ffmuc_welt"],
      expires_at: expect.stringMatching(/^20\d\d-/),
    });
    expect((await entriesOf(key)).map((e) => e.domain)).toEqual(["ffmuc_welt"]);
    const none = await adminFetch(denyPath(key), { method: "PUT", body: JSON.stringify({ reason: "x", domains: [] }) });
    expect(await none.json()).toEqual({
      error: { message: "domains: list at least one domain, or leave it out for all" },
    });
  });
});

describe("admin writes are all or nothing", () => {
  it("a deny that fails in one domain is undone in the others, answered 500, and the key registers as before", async () => {
    const key = freshKey();
    const gw = await connectGateway("gw01", "ffmuc_welt");
    gw.hello(0);
    await gw.welcomed();
    expect((await register(1, "ffmuc_welt", key)).status).toBe(200);
    await gw.waitForKey(key);
    const undo = await failWrites("ffmuc_gluon", "denylist", "INSERT");
    vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const res = await adminFetch(denyPath(key), { method: "PUT", body: JSON.stringify({ reason: "abuse" }) });
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({
        error: { message: "deny failed in ffmuc_gluon; undone in the other domains: try again" },
      });
    } finally {
      await undo();
    }
    expect(await entriesOf(key)).toEqual([]);
    // Where it was removed from the gateways, the node's next registration brings it back.
    expect((await register(1, "ffmuc_welt", key)).status).toBe(200);
    await gw.until(() => gw.entries().filter((e) => e.public_key === key && e.op === "add").length === 2, "re-added");
    expect((await register(1, "ffmuc_gluon", key)).status).toBe(200);
    gw.close();
  });

  it("a denial lifted everywhere or nowhere; a previous entry comes back as it was", async () => {
    const key = freshKey();
    const put = await adminFetch(denyPath(key), {
      method: "PUT",
      body: JSON.stringify({ reason: "kept", ttl_s: 3600 }),
    });
    expect(put.status).toBe(200);
    const before = await entriesOf(key);
    // Every configured domain, the Parker domain included.
    expect(before).toHaveLength(4);
    const undo = await failWrites("ffmuc_muc_cty", "denylist", "DELETE");
    vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      expect((await adminFetch(denyPath(key), { method: "DELETE" })).status).toBe(500);
    } finally {
      await undo();
    }
    expect(await entriesOf(key)).toEqual(before);
    for (const domain of ["ffmuc_welt", "ffmuc_muc_cty", "ffmuc_gluon"])
      expect((await register(1, domain, key)).status).toBe(400);
    expect(await (await adminFetch(denyPath(key), { method: "DELETE" })).json()).toMatchObject({
      removed_from: ["ffmuc_welt", "ffmuc_muc_cty", "ffmuc_gluon", "ffmuc_parker"],
    });
  });

  it("a drain that fails in one domain is undone in the others", async () => {
    const undo = await failWrites("ffmuc_gluon", "gateways", "UPDATE");
    vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const res = await adminFetch("/api/v1/admin/gateways/gw02/drain", { method: "PUT", body: '{"drain": true}' });
      expect(res.status).toBe(500);
    } finally {
      await undo();
    }
    const status = await (await fetchEdge("/api/v1/status")).json<EdgeStatus>();
    for (const d of status.domains) expect(d.gateways.find((g) => g.name === "gw02")?.drain).toBe(false);
  });
});
