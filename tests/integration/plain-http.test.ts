import { request } from "node:http";
import { requestBody, WGKEX_ANSWERS, type WgkexAnswer } from "@wgkex-edge/edge/wgkex-answers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalEdge } from "../../edge/local/serve.ts";
import { randomKey, startEdge } from "../support/edge.ts";

// FFMUC's Gluon client posts to http://<broker>/api/… when its busybox wget has no TLS. The edge
// itself must answer plain HTTP on every node-API path with wgkex's answer, never a redirect
// (docs/deployment.md says how to keep Cloudflare from adding one in front).
let edge: LocalEdge;
beforeAll(async () => {
  edge = await startEdge({
    // The recording's configuration (edge/test/fixtures/wgkex/README.md).
    config: {
      domains: ["ffmuc_welt", "ffmuc_muc_cty", "ffmuc_gluon"],
      domain_prefixes: ["ffmuc_", "ffx_"],
      gateways: [{ name: "gw01" }, { name: "gw02" }],
    },
  });
});
afterAll(() => edge?.stop());

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request over a plain TCP socket, nothing followed, the body's raw bytes. */
function plain(a: WgkexAnswer): Promise<Raw> {
  const body = requestBody(a, randomKey());
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(a.request.path, edge.url),
      { method: a.request.method, headers: a.request.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on("error", reject);
    req.end(body === undefined ? undefined : Buffer.from(body));
  });
}

// Those needing gateway state or a forced failure are covered in workerd (edge/test/wgkex-bytes.test.ts).
const SETUP = /^v2 (chosen gateway|OK)|unexpected server error/;

describe("plain HTTP on every node-API path", () => {
  it("the edge under test speaks plain http://", () => {
    expect(edge.url.protocol).toBe("http:");
  });

  it.each(WGKEX_ANSWERS.filter((a) => !SETUP.test(a.name)).map((a) => [a.name, a] as const))(
    "%s: wgkex's answer, no redirect",
    async (_name, a) => {
      const res = await plain(a);
      expect(res.status).toBe(a.response.status);
      expect(res.status < 300 || res.status >= 400).toBe(true);
      expect(res.headers.location).toBeUndefined();
      expect(res.headers["strict-transport-security"]).toBeUndefined();
      expect(res.headers["content-type"]).toBe(a.response.content_type);
      expect(res.body.toString("utf8")).toBe(a.response.body);
      expect(res.body.byteLength).toBe(a.response.bytes);
    },
  );
});
