import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { PROTOCOL_VERSION } from "@wgkex-edge/shared";
import { afterEach, describe, expect, it, vi } from "vitest";
import { GATEWAY_HEADER } from "../src/registry/domain-registry.ts";
import type { EdgeStatus } from "../src/stats/collect.ts";
import {
  connectGateway,
  fetchEdge,
  freshKey,
  GATEWAY_KEYS,
  GatewayClient,
  gluonBody,
  onlineGateway,
  operatorReceiptOf,
  post,
  receiptOf,
  register,
} from "./helpers.ts";

// Issue 12, section 2: gateways are authenticated, not trusted. Each domain's object lives
// in this file's own worker, so the states below start from nothing.

const GENERIC_400 = '{"error":{"message":"An internal error has occurred. Please try again later."}}\n';

async function gatewayStatus(domain: string, gateway: string) {
  const status = await (await fetchEdge("/api/v1/status")).json<EdgeStatus>();
  const d = status.domains.find((x) => x.domain === domain)!;
  return { head: d.head, ...d.gateways.find((g) => g.name === gateway)! };
}

async function stateOn(domain: string, key: string, gateway: string): Promise<string | undefined> {
  const receipt = await (await receiptOf(domain, key)).json<{ gateways: Array<{ name: string; state: string }> }>();
  return receipt.gateways.find((g) => g.name === gateway)?.state;
}

/** Wait for the edge's error frame and close; returns the error. */
async function refused(gw: GatewayClient): Promise<{ code: string; message: string; close: number }> {
  await gw.until(() => gw.closed !== undefined, "the edge to close the socket");
  const error = gw.frames.find((f) => f.type === "error");
  if (error?.type !== "error") throw new Error(`closed without an error frame: ${JSON.stringify(gw.closed)}`);
  return { code: error.code, message: error.message, close: gw.closed!.code };
}

async function welcomedGateway(gateway: string, domain: string, since = 0): Promise<GatewayClient> {
  const gw = await connectGateway(gateway, domain);
  gw.hello(since);
  await gw.welcomed();
  return gw;
}

describe("frames count only in their session state", () => {
  it("an ack before the hello is refused and stores nothing (it used to mark every later key installed)", async () => {
    const domain = "ffmuc_welt";
    const first = freshKey();
    expect((await register(1, domain, first)).status).toBe(200);
    const rogue = await connectGateway("gw01", domain);
    rogue.send({ type: "ack", seq: Number.MAX_SAFE_INTEGER });
    rogue.send({ type: "load", connected: 999, load: 999, peers: 999 }); // after the close: ignored
    expect(await refused(rogue)).toEqual({
      code: "bad_frame",
      message: "the first frame on a socket must be hello, not ack",
      close: 1008,
    });
    const later = freshKey();
    expect((await register(1, domain, later)).status).toBe(200);
    expect(await stateOn(domain, first, "gw01")).toBe("pending");
    expect(await stateOn(domain, later, "gw01")).toBe("pending");
    const gw01 = await gatewayStatus(domain, "gw01");
    expect(gw01).toMatchObject({ acked_seq: 0, connected: null });
    expect(gw01.lag).toBeGreaterThanOrEqual(2);
  });

  it("one hello per socket: a flood of 1,000 snapshot hellos is answered once, then closed", async () => {
    const domain = "ffmuc_muc_cty";
    for (let i = 0; i < 5; i++) await register(1, domain, freshKey());
    const flood = await connectGateway("gw02", domain);
    for (let i = 0; i < 1000; i++) flood.hello(0, true);
    expect(await refused(flood)).toEqual({
      code: "bad_frame",
      message: "one hello per socket: reconnect to start over",
      close: 1008,
    });
    expect(flood.frames.filter((f) => f.type === "welcome")).toHaveLength(1);
    expect(flood.frames.filter((f) => f.type === "snapshot" && f.done)).toHaveLength(1);
    // The object serves the others meanwhile.
    const other = await welcomedGateway("gw01", domain);
    const key = freshKey();
    expect((await register(1, domain, key)).status).toBe(200);
    await other.waitForKey(key);
    other.close();
  });

  it("a gateway the object's configuration does not give the domain gets not_configured (a deploy in between)", async () => {
    // The Worker refuses such a socket with 401 first; the object checks again on its own.
    const res = await env.DOMAIN_REGISTRY.getByName("ffmuc_muc_cty").fetch(
      new Request("http://edge.test/socket", { headers: { Upgrade: "websocket", [GATEWAY_HEADER]: "gw03" } }),
    );
    expect(res.status).toBe(101);
    res.webSocket!.accept();
    const gw = new GatewayClient(res.webSocket!, "gw03", "ffmuc_muc_cty");
    gw.hello(0);
    expect(await refused(gw)).toEqual({
      code: "not_configured",
      message: "gateway gw03 does not serve ffmuc_muc_cty",
      close: 1008,
    });
  });

  it("a hello of another protocol version gets unsupported_version, as docs/protocol.md promises", async () => {
    const gw = await connectGateway("gw03", "ffmuc_welt");
    gw.send({ type: "hello", v: PROTOCOL_VERSION + 1, agent: "wgkex-agent/9", since: 0, resume: "x" });
    expect(await refused(gw)).toEqual({
      code: "unsupported_version",
      message: `protocol version ${PROTOCOL_VERSION + 1} is not supported; this side speaks version ${PROTOCOL_VERSION}`,
      close: 1008,
    });
  });
});

describe("acks are bounded by what the edge sent", () => {
  it("an ack past the head (9007199254740991) is refused: later keys stay pending, lag stays true", async () => {
    const domain = "ffmuc_gluon";
    const gw = await welcomedGateway("gw02", domain);
    const key = freshKey();
    await register(1, domain, key);
    await gw.waitForKey(key);
    const seq = gw.entries().at(-1)!.seq;
    gw.send({ type: "ack", seq: Number.MAX_SAFE_INTEGER });
    expect(await refused(gw)).toEqual({
      code: "bad_frame",
      message: `ack seq ${Number.MAX_SAFE_INTEGER} is beyond the domain's head ${seq}`,
      close: 1008,
    });
    const later = freshKey();
    await register(1, domain, later);
    expect(await stateOn(domain, later, "gw02")).toBe("pending");
    const status = await gatewayStatus(domain, "gw02");
    expect(status.acked_seq).toBeLessThanOrEqual(status.head);
    expect(status.lag).toBeGreaterThanOrEqual(2);
  });

  it("acks never go backwards: an older ack changes neither the gateway's seq nor any receipt", async () => {
    const domain = "ffmuc_welt";
    const gw = await welcomedGateway("gw03", domain);
    const [a, b] = [freshKey(), freshKey()];
    await register(1, domain, a);
    await register(1, domain, b);
    await gw.waitForKey(b);
    const [seqA, seqB] = [a, b].map((k) => gw.entries().find((e) => e.public_key === k)!.seq);
    gw.send({ type: "ack", seq: seqB! });
    expect(await stateOn(domain, b, "gw03")).toBe("installed");
    const installedAt = (await (await receiptOf(domain, a)).json<{ gateways: Array<{ at: string }> }>()).gateways;
    gw.send({ type: "ack", seq: seqA! });
    expect((await gatewayStatus(domain, "gw03")).acked_seq).toBe(seqB);
    expect((await (await receiptOf(domain, a)).json<{ gateways: unknown }>()).gateways).toEqual(installedAt);
    gw.close();
  });
});

describe("reports are bounded by what is true", () => {
  it("a removal dated in the future counts as now; one past any date is a bad frame; receipts never fail", async () => {
    const domain = "ffmuc_muc_cty";
    const gw = await welcomedGateway("gw01", domain);
    const key = freshKey();
    await register(1, domain, key);
    await gw.waitForKey(key);
    const before = Date.now();
    gw.send({ type: "removed", entries: [{ public_key: key, reason: "stale", at: before + 365 * 86_400_000 }] });
    const receipt = await receiptOf(domain, key);
    expect(receipt.status).toBe(200);
    const on = (await receipt.json<{ gateways: Array<{ name: string; state: string; at: string }> }>()).gateways;
    const removedAt = Date.parse(on.find((g) => g.name === "gw01")!.at);
    expect(removedAt).toBeGreaterThanOrEqual(before);
    expect(removedAt).toBeLessThanOrEqual(Date.now());

    gw.send({ type: "removed", entries: [{ public_key: key, reason: "stale", at: Number.MAX_SAFE_INTEGER }] });
    expect((await refused(gw)).code).toBe("bad_frame");
    expect((await receiptOf(domain, key)).status).toBe(200);
    expect((await operatorReceiptOf(domain, key)).status).toBe(200);
  });

  it("a gateway's failure, removal, live and verified reports about keys it should not have change nothing", async () => {
    const domain = "ffmuc_gluon";
    const owner = await onlineGateway("gw01", domain);
    const key = freshKey();
    expect((await register(2, domain, key)).status).toBe(200); // gw02 is offline: gw01 is chosen
    await owner.waitForKey(key);
    const seq = owner.entries().find((e) => e.public_key === key)!.seq;
    owner.send({ type: "ack", seq });
    expect(await stateOn(domain, key, "gw01")).toBe("installed");

    const other = await welcomedGateway("gw02", domain);
    other.send({ type: "ack", seq, failed: [{ public_key: key, reason: "not mine" }] });
    other.send({ type: "removed", entries: [{ public_key: key, reason: "not mine", at: Date.now() }] });
    other.send({ type: "live", keys: [key] });
    // Unasked, too: a verified is only ever an answer, and counts only for the gateway's keys.
    other.send({ type: "verified", ok: 0, repaired: [key], failed: [{ public_key: key, reason: "not mine" }] });
    const operator = await (await operatorReceiptOf(domain, key)).json<{
      last_live_at: string | null;
      gateways: Array<{ name: string; state: string }>;
    }>();
    expect(operator.gateways).toEqual([expect.objectContaining({ name: "gw01", state: "installed" })]);
    expect(operator.last_live_at).toBeNull();
    // So the next registration is still a repeat: nothing is written or sent again.
    const frames = owner.frames.length;
    expect((await register(2, domain, key)).status).toBe(200);
    const marker = freshKey();
    await register(1, domain, marker);
    await owner.waitForKey(marker);
    expect(owner.entries().filter((e) => e.public_key === key)).toHaveLength(1);
    expect(owner.frames.length).toBeGreaterThan(frames);
    owner.close();
    other.close();
  });
});

describe("a gateway's own key is no node key (issue 12, section 5)", () => {
  afterEach(() => vi.restoreAllMocks());

  it("refuses it on v1 and v2 with wgkex's generic 400, and counts it; a node's key announced by a gateway is logged", async () => {
    const domain = "ffmuc_welt";
    const gw1 = await onlineGateway("gw01", domain);
    for (const version of [1, 2] as const) {
      const res = await post(version, gluonBody(domain, GATEWAY_KEYS.gw01!));
      expect(res.status).toBe(400);
      expect(await res.text()).toBe(GENERIC_400);
    }
    // Whatever key the gateway announces next is the one refused.
    const next = freshKey();
    expect((await register(1, domain, next)).status).toBe(200);
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    gw1.send({ type: "interface", public_key: next, port: 40011, address: "gw01.ext", link_address: "fe80::1" });
    for (let i = 0; i < 100 && (await gatewayStatus(domain, "gw01")).endpoint?.public_key !== next; i++) {
      await new Promise((r) => setTimeout(r, 20)); // the frame and the requests take different paths
    }
    const res = await post(1, gluonBody(domain, next));
    expect(res.status).toBe(400);
    expect(await res.text()).toBe(GENERIC_400);
    expect(logged.mock.calls.map((call) => JSON.parse(String(call[0])))).toContainEqual({
      level: "warn",
      msg: "gateway announced a node's registered key as its own; refused as a node key from now on",
      domain,
      gateway: "gw01",
    });
    const status = await (await fetchEdge("/api/v1/status")).json<EdgeStatus>();
    expect(status.domains.find((d) => d.domain === domain)?.rejections_last_day.gateway_key).toBe(3);
    gw1.close();
  });
});

describe("a failing handler (issue 12, section 5)", () => {
  afterEach(() => vi.restoreAllMocks());

  it("is logged with gateway, domain and frame type, closes that socket with internal, and the object serves on", async () => {
    const domain = "ffmuc_muc_cty";
    const stub = env.DOMAIN_REGISTRY.getByName(domain);
    const healthy = await welcomedGateway("gw01", domain);
    const failing = await welcomedGateway("gw02", domain);
    await runInDurableObject(stub, (_obj, state) => {
      state.storage.sql.exec(
        "CREATE TRIGGER test_broken_disk BEFORE UPDATE OF port ON gateways BEGIN SELECT RAISE(ABORT, 'SQLITE_IOERR: disk I/O error'); END",
      );
    });
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      failing.send({
        type: "interface",
        public_key: freshKey(),
        port: 40011,
        address: "gw02.ext",
        link_address: "fe80::1",
      });
      expect(await refused(failing)).toMatchObject({ code: "internal", close: 1011 });
      const lines = logged.mock.calls.map((call) => JSON.parse(String(call[0])) as Record<string, unknown>);
      expect(lines).toContainEqual(
        expect.objectContaining({
          level: "error",
          msg: "handling a gateway frame failed",
          domain,
          gateway: "gw02",
          frame: "interface",
          error: expect.stringContaining("disk I/O error"),
        }),
      );
    } finally {
      await runInDurableObject(stub, (_obj, state) => state.storage.sql.exec("DROP TRIGGER test_broken_disk"));
    }
    const key = freshKey();
    expect((await register(1, domain, key)).status).toBe(200);
    await healthy.waitForKey(key);
    healthy.close();
  });
});
