import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DomainStatus } from "../src/stats/status.ts";
import {
  adminFetch,
  connectGateway,
  fetchEdge,
  freshKey,
  GATEWAY_KEYS,
  type GatewayClient,
  onlineGateway,
  operatorReceiptOf,
  receiptOf,
  register,
} from "./helpers.ts";

// wrangler.test.toml: adoption = { per_gateway = 40, per_domain = 60, window_s = 3600 }

interface AdoptedReceipt {
  state: string;
  target: string;
  origin: { type: string; gateway?: string; at?: string };
  gateways: Array<{ name: string; state: string }>;
}

async function statusOf(domain: string): Promise<DomainStatus> {
  const all = await (await fetchEdge("/api/v1/status")).json<{ domains: DomainStatus[] }>();
  return all.domains.find((d) => d.domain === domain)!;
}

/** Report keys as found, then a round trip through the object so the report is applied. */
async function adopt(gw: GatewayClient, keys: string[]): Promise<void> {
  gw.send({ type: "adopted", keys });
  await receiptOf(gw.domain, freshKey());
}

const adds = (gw: GatewayClient) => gw.entries().filter((e) => e.op === "add");

describe("adoption: peers a gateway found on its interface become registrations", () => {
  it("recorded with their origin, fanned out to every gateway, acked into receipts, in snapshots, counted", async () => {
    const domain = "ffmuc_muc_cty";
    const gw1 = await onlineGateway("gw01", domain);
    const gw2 = await onlineGateway("gw02", domain);
    const [k1, k2] = [freshKey(), freshKey()];
    const headBefore = (await statusOf(domain)).head;

    // wgkex gave every key to every gateway; gw01 reports its peers, among them gw02 (a static peer).
    await adopt(gw1, [k1, k2, GATEWAY_KEYS.gw02!, k1]);
    await gw2.until(() => adds(gw2).length === 2, "both adopted keys on gw02");
    await gw1.until(() => adds(gw1).length === 2, "both adopted keys back on gw01");
    expect(adds(gw2).map((e) => e.public_key)).toEqual([k1, k2]);

    const receipt = await (await receiptOf(domain, k1)).json<AdoptedReceipt>();
    expect(receipt).toMatchObject({ state: "active", target: "*", origin: { type: "adopted", gateway: "gw01" } });
    expect(Date.parse(receipt.origin.at!)).toBeGreaterThan(Date.now() - 60_000);
    expect(receipt.gateways.map((g) => [g.name, g.state])).toEqual([
      ["gw01", "pending"],
      ["gw02", "pending"],
    ]);
    const last = adds(gw2).at(-1)!.seq;
    gw1.send({ type: "ack", seq: last });
    gw2.send({ type: "ack", seq: last });
    const installed = await (await receiptOf(domain, k2)).json<AdoptedReceipt>();
    expect(installed.gateways.map((g) => g.state)).toEqual(["installed", "installed"]);
    expect(await (await receiptOf(domain, GATEWAY_KEYS.gw02!)).status).toBe(404);

    // Reported again (every gateway has them; the next pass reports them too): nothing changes.
    await adopt(gw2, [k1, k2]);
    const status = await statusOf(domain);
    expect(status.head).toBe(headBefore + 2);
    expect(status.adopted_peers).toBe(2);
    expect(status.gateways.map((g) => [g.name, g.adopted, g.adoption_reports])).toEqual([
      ["gw01", 2, { accepted: 2, gateway_key: 1 }],
      ["gw02", 0, { known: 2 }],
    ]);

    // A gateway that comes later (or reboots) gets them from its snapshot.
    gw2.close();
    const rebooted = await connectGateway("gw02", domain);
    rebooted.hello(0, true);
    await rebooted.until((fs) => fs.some((f) => f.type === "snapshot" && f.done), "snapshot");
    expect(rebooted.snapshotKeys()).toEqual(expect.arrayContaining([k1, k2]));

    // Visible to operators: /metrics, the status page, the admin API.
    const metrics = await (await adminFetch("/metrics")).text();
    expect(metrics).toContain(`wgkex_edge_adopted_peers{domain="${domain}"} 2`);
    expect(metrics).toContain(`wgkex_edge_gateway_adopted_peers{domain="${domain}",gateway="gw01"} 2`);
    expect(metrics).toContain(
      `wgkex_edge_adoption_reports_total{domain="${domain}",gateway="gw01",outcome="gateway_key"} 1`,
    );
    const page = await (await fetchEdge("/status")).text();
    expect(page).toMatch(new RegExp(`id="domain-${domain}"[\\s\\S]*?2 adopted from gateways`));
    const listed = await (await adminFetch(`/api/v1/admin/adopted?domain=${domain}&gateway=gw01`)).json<{
      entries: Array<{ public_key: string; gateway: string }>;
      next: string | null;
    }>();
    expect(listed.entries.map((e) => e.public_key).sort()).toEqual([k1, k2].sort());
    expect(listed.next).toBeNull();
    gw1.close();
    rebooted.close();
  });

  it("only after the welcome: an adopted frame before hello closes the socket with bad_frame, nothing recorded", async () => {
    const gw = await connectGateway("gw01", "ffmuc_welt");
    const key = freshKey();
    gw.send({ type: "adopted", keys: [key] });
    await gw.until(() => gw.closed !== undefined, "close");
    expect(gw.frames.at(-1)).toMatchObject({
      type: "error",
      code: "bad_frame",
      message: expect.stringContaining("hello"),
    });
    expect(gw.closed?.code).toBe(1008);
    expect((await receiptOf("ffmuc_welt", key)).status).toBe(404);
  });

  it("a report with an invalid key is refused whole (bad_frame), nothing of it recorded", async () => {
    const gw = await onlineGateway("gw02", "ffmuc_welt");
    const key = freshKey();
    gw.send({ type: "adopted", keys: [key, "not-a-key"] });
    await gw.until(() => gw.closed !== undefined, "close");
    expect(gw.frames.at(-1)).toMatchObject({
      type: "error",
      code: "bad_frame",
      message: expect.stringContaining("keys[1]"),
    });
    expect((await receiptOf("ffmuc_welt", key)).status).toBe(404);
  });

  it("denied keys are not adopted but removed from every gateway (wgkex put them everywhere); a key nodes registered keeps its origin", async () => {
    const domain = "ffmuc_welt";
    const gw = await onlineGateway("gw03", domain);
    const other = await onlineGateway("gw01", domain);
    const [denied, registered] = [freshKey(), freshKey()];
    expect(
      (
        await adminFetch(`/api/v1/admin/denylist/${encodeURIComponent(denied)}`, {
          method: "PUT",
          body: '{"reason":"abuse"}',
        })
      ).status,
    ).toBe(200);
    expect((await register(1, domain, registered)).status).toBe(200);
    await adopt(gw, [denied, registered]);
    for (const g of [gw, other]) {
      await g.until(
        () => g.entries().some((e) => e.public_key === denied && e.op === "remove"),
        `${g.gateway}: remove of the denied key`,
      );
      expect(g.entries().some((e) => e.public_key === denied && e.op === "add")).toBe(false);
    }
    expect(await (await receiptOf(domain, denied)).json<AdoptedReceipt & { removed_reason: string }>()).toMatchObject({
      state: "removed",
      removed_reason: "denied",
      origin: { type: "adopted", gateway: "gw03" },
    });
    // Which gateway still held the denied key is for operators (the public receipt says the category).
    expect(
      await (await operatorReceiptOf(domain, denied)).json<AdoptedReceipt & { removed_reason: string }>(),
    ).toMatchObject({ state: "removed", removed_reason: "denied (found on gw03)" });
    expect((await (await receiptOf(domain, registered)).json<AdoptedReceipt>()).origin).toEqual({
      type: "registration",
    });
    expect((await statusOf(domain)).gateways.find((g) => g.name === "gw03")?.adoption_reports).toEqual({
      denied: 1,
      known: 1,
    });
    // Not counted as adopted, not listed: it is not in the desired set.
    expect((await statusOf(domain)).gateways.find((g) => g.name === "gw03")?.adopted).toBe(0);
    gw.close();
    other.close();
  });

  it("too many keys: per gateway and per domain budgets hold, also across an eviction", async () => {
    const domain = "ffmuc_gluon";
    const gw1 = await onlineGateway("gw01", domain);
    const gw2 = await onlineGateway("gw02", domain);
    const first = Array.from({ length: 45 }, freshKey);
    await adopt(gw1, first); // gw01 may add 40
    const second = Array.from({ length: 30 }, freshKey);
    await adopt(gw2, second); // the domain has 60 - 40 = 20 left
    let status = await statusOf(domain);
    expect(status.adopted_peers).toBe(60);
    expect(status.gateways.find((g) => g.name === "gw01")?.adoption_reports).toEqual({ accepted: 40, limit: 5 });
    expect(status.gateways.find((g) => g.name === "gw02")?.adoption_reports).toEqual({ accepted: 20, limit: 10 });
    for (const key of first.slice(40)) expect((await receiptOf(domain, key)).status).toBe(404);

    await evictDurableObject(env.DOMAIN_REGISTRY.getByName(domain));
    const gw3 = await onlineGateway("gw01", domain);
    await adopt(gw3, first.slice(40));
    status = await statusOf(domain);
    expect(status.adopted_peers).toBe(60);
    expect(status.gateways.find((g) => g.name === "gw01")?.adoption_reports).toEqual({ accepted: 40, limit: 10 });
    for (const gw of [gw1, gw2, gw3]) gw.close();
  });

  it("the Parker domain takes no reports: a node's ranges come only with its allocation; ignored, nothing recorded or sent", async () => {
    const domain = "ffmuc_parker";
    const gw = await connectGateway("gw01", domain);
    gw.hello(0);
    await gw.welcomed();
    const key = freshKey();
    await adopt(gw, [key]);
    expect((await receiptOf(domain, key)).status).toBe(404);
    expect(gw.closed).toBeUndefined();
    expect(gw.entries().some((e) => e.public_key === key)).toBe(false);
    const status = await statusOf(domain);
    expect(status.adopted_peers).toBe(0);
    expect(status.gateways.find((g) => g.name === "gw01")?.adoption_reports).toEqual({});
    gw.close();
  });

  it("adopted keys age out by the normal retention, like any registration", async () => {
    const domain = "ffmuc_welt";
    const gw = await onlineGateway("gw01", domain);
    const key = freshKey();
    await adopt(gw, [key]);
    expect((await (await receiptOf(domain, key)).json<AdoptedReceipt>()).state).toBe("active");
    const stub = env.DOMAIN_REGISTRY.getByName(domain);
    await stub.sweep(Date.now() + 25 * 3_600_000); // retention_hours = 24
    const after = await (await receiptOf(domain, key)).json<AdoptedReceipt & { removed_reason: string }>();
    expect(after).toMatchObject({ state: "removed", removed_reason: "retention", origin: { type: "adopted" } });
    gw.close();
  });
});
