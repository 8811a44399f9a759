import { describe, expect, it } from "vitest";
import { fetchEdge, freshIp, freshKey, gluonBody, post } from "./helpers.ts";

const KEY = "4oiBpLXEpsDCIkQ8A0kY+jaQ3CvQKSLC3LnXfhy8bWs=";
// Flask's jsonify ends every body with one newline (edge/test/fixtures/wgkex/ has the recordings).
const INTERNAL = '{"error":{"message":"An internal error has occurred. Please try again later."}}\n';

async function expectWgkexError(res: Response, status: number, body: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get("Content-Type")).toBe("application/json");
  expect(await res.text()).toBe(body);
}

describe("POST /api/v1/wg/key/exchange (wgkex-facts §1)", () => {
  it("answers the Gluon client's exact request with wgkex's exact body", async () => {
    const res = await post(1, gluonBody("ffmuc_welt", KEY));
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/json");
    expect(await res.text()).toBe('{"Message":"OK"}\n');
  });

  it.each([["application/json"], ["text/plain"], ["application/octet-stream"], [""]])(
    "parses the body as JSON whatever the Content-Type (%s)",
    async (type) => {
      const res = await post(1, JSON.stringify({ public_key: freshKey(), domain: "ffmuc_muc_cty" }), {
        headers: { "Content-Type": type },
      });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('{"Message":"OK"}\n');
    },
  );

  it("accepts extra fields, as wgkex does", async () => {
    const res = await post(1, JSON.stringify({ domain: "ffmuc_welt", public_key: freshKey(), hostname: "node-1" }));
    expect(res.status).toBe(200);
  });

  it("accepts one trailing newline on the key, like Python's re.match with $", async () => {
    const res = await post(1, JSON.stringify({ domain: "ffmuc_welt", public_key: `${freshKey()}\n` }));
    expect(res.status).toBe(200);
  });

  const bad: Array<[string, string]> = [
    ["empty body", ""],
    ["not JSON", "domain=ffmuc_welt&public_key=x"],
    ["truncated JSON", '{"domain": "ffmuc_welt","public_key": "'],
    ["a JSON string", JSON.stringify("ffmuc_welt")],
    ["a JSON array", JSON.stringify(["ffmuc_welt", KEY])],
    ["null", "null"],
    ["missing key", JSON.stringify({ domain: "ffmuc_welt" })],
    ["missing domain", JSON.stringify({ public_key: KEY })],
    ["key too short", gluonBody("ffmuc_welt", KEY.slice(1))],
    ["non-canonical key", gluonBody("ffmuc_welt", `${KEY.slice(0, 42)}B=`)],
    ["key with two newlines", JSON.stringify({ domain: "ffmuc_welt", public_key: `${KEY}\n\n` })],
    ["key with leading space", JSON.stringify({ domain: "ffmuc_welt", public_key: ` ${KEY}` })],
    ["key as number", JSON.stringify({ domain: "ffmuc_welt", public_key: 42 })],
    ["unknown domain", gluonBody("ffmuc_nowhere", KEY)],
    ["domain without prefix", gluonBody("welt", KEY)],
    ["domain in other case", gluonBody("FFMUC_WELT", KEY)],
  ];
  it.each(bad)("answers %s with wgkex's generic 400", async (_name, body) => {
    await expectWgkexError(await post(1, body), 400, INTERNAL);
    await expectWgkexError(await post(2, body), 400, INTERNAL);
  });

  it("refuses a body over the limit with 413, by Content-Length and by counting", async () => {
    const big = JSON.stringify({ domain: "ffmuc_welt", public_key: KEY, pad: "x".repeat(2000) });
    await expectWgkexError(await post(1, big), 413, '{"error":{"message":"request body too large"}}\n');
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const res = await fetchEdge("/api/v1/wg/key/exchange", {
      method: "POST",
      headers: { "CF-Connecting-IP": freshIp() },
      body: stream,
      duplex: "half",
    } as RequestInit);
    await expectWgkexError(res, 413, '{"error":{"message":"request body too large"}}\n');
  });

  it.each(["GET", "PUT", "DELETE", "PATCH"])("answers %s with 405 and Allow", async (method) => {
    for (const v of [1, 2]) {
      const res = await fetchEdge(`/api/v${v}/wg/key/exchange`, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get("Allow")).toBe("OPTIONS, POST");
      expect(await res.text()).toContain("Method Not Allowed");
    }
  });

  it("answers OPTIONS like Flask", async () => {
    const res = await fetchEdge("/api/v1/wg/key/exchange", { method: "OPTIONS" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Allow")).toBe("OPTIONS, POST");
  });

  it("serves wgkex's own page at /", async () => {
    const res = await fetchEdge("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
    expect(await res.text()).toContain("<h1>WGKEX</h1>");
  });

  it("answers unknown paths with 404", async () => {
    const res = await fetchEdge("/api/v4/wg/key/exchange", { method: "POST" });
    expect(res.status).toBe(404);
  });
});

describe("rate limits per client address", () => {
  it("throttles one address with 429 and a jittered Retry-After; other addresses still get through", async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    let retry: string | null = null;
    for (let i = 0; i < 25; i++) {
      const res = await post(1, gluonBody("ffmuc_welt", freshKey()), { ip });
      statuses.push(res.status);
      if (res.status === 429) {
        retry = res.headers.get("Retry-After");
        expect(await res.text()).toBe('{"error":{"message":"too many requests, please try again later"}}\n');
      }
    }
    expect(statuses.slice(0, 20).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    expect(Number(retry)).toBeGreaterThanOrEqual(60);
    expect(Number(retry)).toBeLessThanOrEqual(90);
    expect((await post(1, gluonBody("ffmuc_welt", freshKey()))).status).toBe(200);
  });

  it("counts invalid requests against the sender too", async () => {
    const ip = freshIp();
    for (let i = 0; i < 20; i++) expect((await post(1, "garbage", { ip })).status).toBe(400);
    expect((await post(1, gluonBody("ffmuc_welt", freshKey()), { ip })).status).toBe(429);
  });

  it("aggregates IPv6 clients to their /64", async () => {
    const prefix = `2001:db8:${((Math.random() * 0xffff) | 0).toString(16)}:1`;
    const statuses: number[] = [];
    for (let i = 0; i < 22; i++) {
      const res = await post(1, gluonBody("ffmuc_welt", freshKey()), { ip: `${prefix}:${i.toString(16)}::${i + 1}` });
      statuses.push(res.status);
    }
    expect(statuses.filter((s) => s === 429)).toHaveLength(2);
  });
});
