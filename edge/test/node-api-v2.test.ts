import { describe, expect, it } from "vitest";
import {
  adminFetch,
  connectGateway,
  freshKey,
  GATEWAY_KEYS,
  gluonBody,
  onlineGateway,
  post,
  register,
} from "./helpers.ts";

// Each test uses its own domain where gateway state matters: storage is per file.
describe("POST /api/v2/wg/key/exchange", () => {
  it("answers 400 with wgkex's message when no gateway is online", async () => {
    const res = await post(2, gluonBody("ffmuc_gluon", freshKey()));
    expect(res.status).toBe(400);
    expect(res.headers.get("Content-Type")).toBe("application/json");
    expect(await res.text()).toBe(
      '{"error":{"message":"no gateway online for this domain, please check the domain value and try again later"}}\n',
    );
  });

  it("answers 500 when the chosen gateway has not reported its interface, and stores nothing", async () => {
    const gw = await onlineGateway("gw02", "ffmuc_gluon", { interface: false });
    const key = freshKey();
    const res = await post(2, gluonBody("ffmuc_gluon", key));
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('{"error":{"message":"could not get gateway data"}}\n');
    const receipt = await (await import("./helpers.ts")).receiptOf("ffmuc_gluon", key);
    expect(receipt.status).toBe(404);
    gw.close();
  });

  it("never answers with an IP literal as Address (FFMUC's client nslookups it): 500 as for missing data", async () => {
    const ip = await onlineGateway("gw02", "ffmuc_gluon", { address: "192.0.2.7" });
    const res = await post(2, gluonBody("ffmuc_gluon", freshKey()));
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('{"error":{"message":"could not get gateway data"}}\n');
    ip.close();
    const named = await onlineGateway("gw02", "ffmuc_gluon", { address: "gw02.ext.ffmuc.net" });
    const ok = await post(2, gluonBody("ffmuc_gluon", freshKey()));
    expect(ok.status).toBe(200);
    expect((await ok.json<{ Endpoint: { Address: string } }>()).Endpoint.Address).toBe("gw02.ext.ffmuc.net");
    named.close();
  });

  it("answers with wgkex's exact Endpoint body, Port as a string, and sends the key to that gateway only", async () => {
    const domain = "ffmuc_muc_cty";
    const gw1 = await onlineGateway("gw01", domain, { connected: 10, port: 40012 });
    const gw2 = await onlineGateway("gw02", domain, { connected: 50 });
    const key = freshKey();
    const res = await post(2, gluonBody(domain, key));
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/json");
    expect(await res.text()).toBe(
      `{"Endpoint":{"Address":"gw01.ext.ffmuc.net","AllowedIPs":["fe80::23b:d2ff:fe95:967f"],"Port":"40012","PublicKey":"${GATEWAY_KEYS.gw01}"}}\n`,
    );
    await gw1.waitForKey(key);
    // A v1 key right after reaches gw2, proving gw2 was live and simply not sent the v2 key.
    const v1 = freshKey();
    await register(1, domain, v1);
    await gw2.waitForKey(v1);
    expect(gw2.entries().some((e) => e.public_key === key)).toBe(false);
    gw1.close();
    gw2.close();
  });

  it("balances by load, counting its own answers until the next report (wgkex's +1)", async () => {
    const domain = "ffmuc_welt";
    const gws = [
      await onlineGateway("gw01", domain, { connected: 3 }),
      await onlineGateway("gw02", domain, { connected: 0 }),
    ];
    const chosen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const body = await (await post(2, gluonBody(domain, freshKey()))).json<{ Endpoint: { Address: string } }>();
      chosen.push(body.Endpoint.Address.split(".")[0]!);
    }
    // gw02 catches up from 0 to 3 first, then they alternate (ties go to the first: gw01).
    expect(chosen).toEqual(["gw02", "gw02", "gw02", "gw01", "gw02", "gw01"]);
    for (const g of gws) g.close();
  });

  it("keeps a re-registering node on its gateway while it is fine, and moves it when that gateway drains", async () => {
    const domain = "ffmuc_welt";
    const gw1 = await onlineGateway("gw01", domain, { connected: 0 });
    const gw2 = await onlineGateway("gw02", domain, { connected: 100 });
    const key = freshKey();
    const first = await (await register(2, domain, key)).json<{ Endpoint: { Address: string } }>();
    expect(first.Endpoint.Address).toBe("gw01.ext.ffmuc.net");
    await gw1.waitForKey(key);
    gw1.send({ type: "load", connected: 500, load: 500, peers: 500 });
    const again = await (await register(2, domain, key)).json<{ Endpoint: { Address: string } }>();
    expect(again.Endpoint.Address).toBe("gw01.ext.ffmuc.net");

    const drained = await adminFetch("/api/v1/admin/gateways/gw01/drain", {
      method: "PUT",
      body: JSON.stringify({ drain: true }),
    });
    expect(drained.status).toBe(200);
    const moved = await (await register(2, domain, key)).json<{ Endpoint: { Address: string } }>();
    expect(moved.Endpoint.Address).toBe("gw02.ext.ffmuc.net");
    await gw2.waitForKey(key);
    await gw1.waitForKey(key, "remove");

    await adminFetch("/api/v1/admin/gateways/gw01/drain", { method: "PUT", body: JSON.stringify({ drain: false }) });
    gw1.close();
    gw2.close();
  });

  it("prefers the requested location and falls back to all gateways", async () => {
    const domain = "ffmuc_welt";
    const gw1 = await onlineGateway("gw01", domain, { connected: 0 });
    const gw2 = await onlineGateway("gw02", domain, { connected: 900 });
    const fra = await (await register(2, domain, freshKey(), { location: "fra" })).json<{
      Endpoint: { Address: string };
    }>();
    expect(fra.Endpoint.Address).toBe("gw02.ext.ffmuc.net");
    const ber = await (await register(2, domain, freshKey(), { location: "ber" })).json<{
      Endpoint: { Address: string };
    }>();
    expect(ber.Endpoint.Address).toBe("gw01.ext.ffmuc.net");
    gw1.close();
    gw2.close();
  });

  it("treats a gateway whose socket closed as offline", async () => {
    const domain = "ffmuc_gluon";
    const gw = await onlineGateway("gw01", domain, { connected: 0 });
    gw.close();
    await gw.until(() => gw.closed !== undefined, "closed");
    const other = await connectGateway("gw02", domain);
    other.close();
    const res = await post(2, gluonBody(domain, freshKey()));
    expect(res.status).toBe(400);
  });
});
