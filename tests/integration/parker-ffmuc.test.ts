import { request } from "node:http";
import { ParkerNode, type ParkerNodeOptions } from "@wgkex-edge/shared/testing/parker-node";
import vectors from "@wgkex-edge/shared/testing/parker-vectors.json" with { type: "json" };
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalEdge } from "../../edge/local/serve.ts";
import { startEdge, TEST_TOKENS } from "../support/edge.ts";
import { RawGateway } from "../support/gateway-socket.ts";

/**
 * FFMUC's deployment as wgkex's parker branch runs it (464XLAT, wgkex's answer bytes, a
 * /63 per node, one shared CLAT subnet), served by the deployed Worker bundle over a plain
 * TCP socket, to both real clients: FFMUC's fork switches to 464XLAT on `xlat_range6`,
 * the upstream client ignores it. The workerd suites run FF Braunschweig's layout.
 */
const DOMAIN = "ffmuc_parker";
const GW_KEY = "PcKkakZcTEx3LKh+G06Opb8/esg08aWK33A5/Ff1YXE=";
const WGKEX_FIELDS = [
  "nonce",
  "time",
  "id",
  "mtu",
  "concentrators",
  "range6",
  "address6",
  "xlat_range6",
  "range4",
  "address4",
  "wg_keepalive",
  "retry",
];

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The node's GET as wget sends it: one plain HTTP request, no redirect followed. */
function get(url: string, clientAddress: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { "CF-Connecting-IP": clientAddress }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

let edge: LocalEdge;
let gw: RawGateway;
const raw: Raw[] = [];

function node(flavour: ParkerNodeOptions["flavour"], clientAddress: string, publicKey: string): ParkerNode {
  return new ParkerNode({
    flavour,
    configServer: edge.url.host,
    configPubkey: vectors.key.signify_public_key,
    publicKey,
    v6mtu: 1500,
    wanIPv6: true,
    fetch: async (url) => {
      const res = await get(url, clientAddress);
      raw.push(res);
      return res;
    },
  });
}

beforeAll(async () => {
  edge = await startEdge({
    parkerSigningKey: vectors.key.signify_secret_key,
    config: {
      domains: [DOMAIN],
      domain_prefixes: ["ffmuc_"],
      gateways: [
        { name: "gw01", location: "muc", parker: { id: 1, endpoint4: "198.51.100.1", endpoint6: "2001:db8::1" } },
      ],
      parker: {
        domain: DOMAIN,
        public_key: vectors.key.signify_public_key,
        answer_format: "wgkex",
        xlat: true,
        ipv6: { pool: "2001:db8:ed0::/56", length: 63 },
        ipv4: { shared: "10.80.96.0/22" },
        retry_s: 120,
        retry_jitter_percent: 0,
        sticky_tolerance_percent: 15,
      },
    },
  });
  gw = await RawGateway.connect(edge.url, "gw01", DOMAIN, TEST_TOKENS.gw01);
  gw.hello(0);
  await gw.until(() => gw.frames.some((f) => f.type === "welcome"), "welcome");
  gw.send({
    type: "interface",
    public_key: GW_KEY,
    port: 51820,
    address: "gw01.example.net",
    link_address: "fe80::1",
    // wgkex hard-coded the concentrators' address4 as 10.0.0.1 (docs/parker.md, migration).
    address4: "10.0.0.1",
  });
  gw.send({ type: "load", connected: 0, load: 0, peers: 0 });
  // Both frames are handled before the first node asks: a round trip through the object.
  await fetch(new URL(`/api/v1/wg/key/status?domain=${DOMAIN}&public_key=${encodeURIComponent(GW_KEY)}`, edge.url));
}, 120_000);
afterAll(async () => {
  await gw?.close();
  await edge?.stop();
});

describe("Parker for FFMUC (464XLAT, wgkex's bytes) over plain HTTP", () => {
  it("configures FFMUC's client in 464XLAT mode with wgkex's answer", async () => {
    const key = "JbXXLRBd5VaAwlYN0v9OB79DY+9Mm51LvgXZaXf7EUU=";
    const ffmuc = node("ffmuc", "2001:db8:abcd:1::5", key);
    const outcome = await ffmuc.cycle();
    if (outcome.kind !== "applied") throw new Error(JSON.stringify(outcome));
    expect(outcome.problems).toEqual([]);

    const res = raw.at(-1)!;
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/plain");
    expect(res.headers.location).toBeUndefined();
    const [json, signature, ...rest] = res.body.split("\n");
    expect(rest).toEqual([]);
    expect(signature).toMatch(/^RWQxMjM0NTY3O[A-Za-z0-9+/]{86}=$/);
    // Python's json.dumps: wgkex's field order and its ", " / ": " separators.
    expect(Object.keys(JSON.parse(json!))).toEqual(WGKEX_FIELDS);
    expect(json).toContain(`{"nonce": "${outcome.config.nonce as string}", "time": `);

    // The first /63 is kept back (wgkex's reserved subnet): the node gets index 1.
    expect(outcome.config).toMatchObject({
      id: key,
      mtu: 1375,
      range6: "2001:db8:ed0:2::/64",
      address6: "2001:db8:ed0:2::1",
      xlat_range6: "2001:db8:ed0:3::/64",
      range4: "10.80.96.0/22",
      address4: "10.80.96.1",
      wg_keepalive: 25,
      retry: 120,
      concentrators: [{ id: 1, endpoint: "[2001:db8::1]:51820", pubkey: GW_KEY, address6: "fe80::1" }],
    });
    // 464XLAT: the fork allows only IPv6 through the tunnel.
    expect(outcome.changes.find((c) => c.op === "create")).toMatchObject({
      iface: "wg_c1",
      peer: { allowedIps: ["::/0"], endpoint: "[2001:db8::1]:51820" },
    });

    // The concentrator routes the whole /63 to the node, and nothing of the shared IPv4 subnet.
    await gw.until(() => gw.entries().some((e) => e.public_key === key), "the node's key at gw01");
    const frame = gw.frames.find((f) => f.type === "peers" && f.entries.some((e) => e.public_key === key));
    const entry = frame?.type === "peers" ? frame.entries.find((e) => e.public_key === key) : undefined;
    expect(entry).toMatchObject({ op: "add", allowed_ips: ["2001:db8:ed0:2::/63"] });

    expect(await ffmuc.cycle()).toMatchObject({ kind: "applied", changes: [], problems: [] });
  });

  it("serves the upstream client from the same configuration: it ignores xlat_range6", async () => {
    const upstream = node("upstream", "2001:db8:abcd:2::5", "TszFS3oFRdhsJP3K0VOlklGMGYZy+oFCtlaghXJqW2g=");
    const outcome = await upstream.cycle();
    if (outcome.kind !== "applied") throw new Error(JSON.stringify(outcome));
    expect(outcome.problems).toEqual([]);
    expect(outcome.config).toMatchObject({ range6: "2001:db8:ed0:4::/64", xlat_range6: "2001:db8:ed0:5::/64" });
    expect(outcome.changes.find((c) => c.op === "create")).toMatchObject({
      peer: { allowedIps: ["0.0.0.0/0", "::/0"] },
    });
  });

  it("gives an IPv4 client the IPv4 endpoint", async () => {
    const v4 = node("ffmuc", "203.0.113.7", "o52Ge+Rpj4CUSitVag9mS7pSXUesNM0ESnvj/wwehkg=");
    const outcome = await v4.cycle();
    if (outcome.kind !== "applied") throw new Error(JSON.stringify(outcome));
    expect((outcome.config.concentrators as Array<{ endpoint: string }>)[0]!.endpoint).toBe("198.51.100.1:51820");
  });
});
