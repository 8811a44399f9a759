import { describe, expect, it } from "vitest";
import {
  type ConcentratorEntry,
  createParkerSigner,
  encodeNodeConfig,
  encodeRetry,
  type NodeConfigAnswer,
  type ParkerSigner,
  signedBody,
} from "../src/parker/index.ts";
import { ParkerNode, type ParkerNodeOptions } from "../testing/parker-node.ts";
import vectors from "../testing/parker-vectors.json" with { type: "json" };

/**
 * The test node against a hand-written server: what it accepts, what it refuses and what
 * it changes on the emulated router, for both client flavours. The edge's own answers
 * meet the same node in edge/test/parker*.test.ts.
 */
const NODE_KEY = "JbXXLRBd5VaAwlYN0v9OB79DY+9Mm51LvgXZaXf7EUU=";
const NOW = 1767225600;
const C1: ConcentratorEntry = {
  address4: "10.0.0.1",
  address6: "fe80::1",
  endpoint: "[2001:db8::1]:51820",
  pubkey: vectors.key.raw_public_key,
  id: 1,
};
const C2: ConcentratorEntry = { ...C1, endpoint: "198.51.100.2:51820", pubkey: NODE_KEY, id: 2 };

type Handler = (url: URL, signer: ParkerSigner) => Promise<{ status: number; body: string }>;

async function node(handler: Handler, options: Partial<ParkerNodeOptions> = {}) {
  const signer = await createParkerSigner(vectors.key.signify_secret_key, {
    publicKey: vectors.key.signify_public_key,
  });
  const urls: string[] = [];
  return {
    urls,
    node: new ParkerNode({
      flavour: "upstream",
      configServer: "config.test",
      configPubkey: vectors.key.signify_public_key,
      publicKey: NODE_KEY,
      v6mtu: 1500,
      clock: () => NOW,
      fetch: async (url) => {
        urls.push(url);
        return handler(new URL(url), signer);
      },
      ...options,
    }),
  };
}

const config = (url: URL, over: Partial<NodeConfigAnswer> = {}): NodeConfigAnswer => ({
  nonce: url.searchParams.get("nonce")!,
  time: NOW,
  id: 30,
  mtu: 1375,
  concentrators: [C1],
  range4: "10.0.120.0/22",
  address4: "10.0.120.1",
  range6: "2001:bf7:381:1e::/64",
  address6: "2001:bf7:381:1e::1",
  wg_keepalive: 25,
  retry: 600,
  ...over,
});

const serve =
  (over: (url: URL) => Partial<NodeConfigAnswer> = () => ({}), format: "wgkex" | "ffbs" = "ffbs"): Handler =>
  async (url, signer) => ({
    status: 200,
    body: await signedBody(encodeNodeConfig(config(url, over(url)), format), signer),
  });

describe("the Parker test node", () => {
  it("sends nodeconfig.sh's request: only '+' escaped, a 32-hex nonce, version, tc limits", async () => {
    const { node: n, urls } = await node(serve(), { tc: { ingress: 10000, egress: 2000 }, version: "v1" });
    await n.cycle();
    expect(urls[0]).toMatch(
      /^http:\/\/config\.test\/config\?pubkey=JbXXLRBd5VaAwlYN0v9OB79DY%2B9Mm51LvgXZaXf7EUU=&nonce=[0-9a-f]{32}&v6mtu=1500&version=v1&tc_ingress=10000&tc_egress=2000$/,
    );
  });

  it("applies a signed config, then finds nothing to change on the next cycle", async () => {
    const { node: n } = await node(serve());
    const first = await n.cycle();
    expect(first).toMatchObject({ kind: "applied", sleep: 600, problems: [] });
    if (first.kind !== "applied") return;
    expect(first.changes.map((c) => c.op)).toEqual(["create", "address4", "address6"]);
    expect(first.changes[0]).toMatchObject({
      iface: "wg_c1",
      mtu: 1375,
      peer: { endpoint: "[2001:db8::1]:51820", keepalive: 25, allowedIps: ["0.0.0.0/0", "::/0"] },
    });
    const second = await n.cycle();
    expect(second).toMatchObject({ kind: "applied", changes: [], problems: [] });
  });

  it("deletes every tunnel not listed: a changed list moves the node, an empty one cuts it off", async () => {
    let list: ConcentratorEntry[] = [C1, C2];
    const { node: n } = await node(serve(() => ({ concentrators: list })));
    await n.cycle();
    expect([...n.tunnels.keys()]).toEqual(["wg_c1", "wg_c2"]);
    list = [C2];
    const moved = await n.cycle();
    expect(moved.kind === "applied" && moved.changes).toEqual([{ op: "delete", iface: "wg_c1" }]);
    list = [];
    await n.cycle();
    expect(n.tunnels.size).toBe(0);
  });

  it("refuses a replayed answer (nonce mismatch) and a raw 64-byte signature, then retries in 20 s", async () => {
    const replay = await node(async (_url, signer) => ({
      status: 200,
      body: await signedBody(encodeNodeConfig(config(new URL("http://x/?nonce=old")), "ffbs"), signer),
    }));
    expect(await replay.node.cycle()).toMatchObject({ kind: "failed", stage: "nonce", sleep: 20 });
    const raw = await node(async (url) => ({
      status: 200,
      body: `${encodeNodeConfig(config(url), "ffbs")}\n${vectors.ok_message.raw_signature}`,
    }));
    expect(await raw.node.cycle()).toMatchObject({
      kind: "failed",
      stage: "signature",
      reason: "Failed to decode signature",
    });
  });

  it("sleeps `retry` and changes nothing on a signed answer without id", async () => {
    const { node: n } = await node(async (url, signer) => ({
      status: 200,
      body: await signedBody(
        encodeRetry({ nonce: url.searchParams.get("nonce")!, time: NOW, retry: 3600 }, "wgkex"),
        signer,
      ),
    }));
    expect(await n.cycle()).toMatchObject({ kind: "retry", sleep: 3600, problems: [] });
    expect(n.tunnels.size).toBe(0);
  });

  it("backs off like each client after a non-2xx: upstream 20 s, FFMUC 2, 4, 8, 16, 20", async () => {
    const down: Handler = async () => ({ status: 503, body: "" });
    const upstream = await node(down);
    const ffmuc = await node(down, { flavour: "ffmuc" });
    const sleeps = async (n: ParkerNode) => {
      const out: number[] = [];
      for (let i = 0; i < 6; i++) out.push((await n.cycle()).sleep);
      return out;
    };
    expect(await sleeps(upstream.node)).toEqual([20, 20, 20, 20, 20, 20]);
    expect(await sleeps(ffmuc.node)).toEqual([2, 4, 8, 16, 20, 20]);
  });

  it("reports the contract breaches a router would pay for", async () => {
    const { node: n } = await node(
      serve(() => ({
        concentrators: [{ ...C1, endpoint: "gw01.example.net:51820", address6: "FE80::1" }],
        address6: "2001:bf7:381:1e:0::1",
      })),
    );
    const outcome = await n.cycle();
    expect(outcome.kind).toBe("applied");
    if (outcome.kind !== "applied") return;
    expect(outcome.problems).toEqual([
      'concentrator 1: address6 "FE80::1" is not an address as ip prints it',
      "concentrator 1: endpoint gw01.example.net:51820 is not a canonical IP literal (the peer is re-set every cycle)",
      'address6 "2001:bf7:381:1e:0::1" is not an address as ip prints it',
    ]);
    // And the cost is real: the next identical answer re-sets the peer and re-adds the address.
    const again = await n.cycle();
    expect(again.kind === "applied" && again.changes.map((c) => c.op)).toEqual(["set-peer", "address6"]);
  });

  it("flags a string concentrator id (no route) and a missing retry (busy loop)", async () => {
    const { node: n } = await node(async (url, signer) => ({
      status: 200,
      body: await signedBody(
        JSON.stringify({ ...config(url), concentrators: [{ ...C1, id: "1" }], retry: undefined }),
        signer,
      ),
    }));
    const outcome = await n.cycle();
    expect(outcome.kind === "applied" && outcome.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^retry is not a number/),
        expect.stringMatching(/^concentrator id "1" is not a number/),
      ]),
    );
  });

  it("sets the node's clock when it is off by more than 60 s", async () => {
    const { node: n } = await node(serve(), { clock: () => NOW - 3600 });
    expect(await n.cycle()).toMatchObject({ kind: "applied", clockSetTo: NOW });
  });

  describe("FFMUC's fork", () => {
    it("finishes the MTU on the node and allows only IPv6 in 464XLAT mode", async () => {
      const { node: n } = await node(
        serve(() => ({ xlat_range6: "2001:bf7:381:1f::/64", concentrators: [C1, C2] })),
        {
          flavour: "ffmuc",
          v6mtu: 1436,
        },
      );
      const outcome = await n.cycle();
      expect(outcome.kind === "applied" && outcome.changes.filter((c) => c.op === "create")).toEqual([
        expect.objectContaining({ iface: "wg_c1", mtu: 1356, peer: expect.objectContaining({ allowedIps: ["::/0"] }) }),
        expect.objectContaining({ iface: "wg_c2", mtu: 1375 }),
      ]);
    });

    it("does not create a tunnel to a host name it cannot resolve", async () => {
      const { node: n } = await node(
        serve(() => ({ concentrators: [{ ...C1, endpoint: "gw01.example.net:51820" }] })),
        {
          flavour: "ffmuc",
        },
      );
      const outcome = await n.cycle();
      expect(outcome.kind === "applied" && outcome.changes).toEqual([]);
      expect(n.tunnels.size).toBe(0);
    });
  });
});
