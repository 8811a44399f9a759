import { exports } from "cloudflare:workers";
import { ParkerNode } from "@wgkex-edge/shared/testing/parker-node";
import vectors from "@wgkex-edge/shared/testing/parker-vectors.json" with { type: "json" };
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminFetch, connectGateway, freshKey, GATEWAY_KEYS, type GatewayClient, receiptOf } from "./helpers.ts";

/**
 * How a Parker node's key and ranges reach its concentrators over time: a repeated request
 * writes nothing while the last push is fresh (repush_s), a concentrator's report that it
 * removed the peer (stale cleanup) or failed it makes the next request push it again
 * (self-healing), and a concentrator the node leaves gets a removal. Test config: gw01 (PoP
 * muc) and gw02 (PoP fra) serve ffmuc_parker; repush_s is the default 600 s.
 */
const DOMAIN = "ffmuc_parker";

let addresses = 0;
function parkerNode(): { node: ParkerNode; key: string } {
  const key = freshKey();
  const ip = `2001:db8:dd:${(++addresses).toString(16)}::1`;
  const node = new ParkerNode({
    flavour: "upstream",
    configServer: "config.test",
    configPubkey: vectors.key.signify_public_key,
    publicKey: key,
    v6mtu: 1500,
    fetch: async (url) => {
      const res = await exports.default.fetch(url, { headers: { "CF-Connecting-IP": ip }, redirect: "manual" });
      return { status: res.status, body: await res.text() };
    },
  });
  return { node, key };
}

type Entry = { seq: number; public_key: string; op: string; allowed_ips?: string[] };
const entriesFor = (gw: GatewayClient, key: string): Entry[] =>
  gw.frames.flatMap((f) => (f.type === "peers" ? (f.entries as Entry[]) : [])).filter((e) => e.public_key === key);

async function nth(gw: GatewayClient, key: string, n: number, op = "add"): Promise<Entry> {
  await gw.until(
    () => entriesFor(gw, key).filter((e) => e.op === op).length >= n,
    `${gw.gateway}: ${op} #${n} for ${key}`,
  );
  return entriesFor(gw, key).filter((e) => e.op === op)[n - 1]!;
}

/** One round trip through the domain's object: every frame sent before it was handled. */
const settle = () => receiptOf(DOMAIN, freshKey());

let gw01: GatewayClient;
let gw02: GatewayClient;
beforeAll(async () => {
  const connect = async (name: string) => {
    const gw = await connectGateway(name, DOMAIN);
    gw.hello(0);
    await gw.welcomed();
    gw.send({
      type: "interface",
      public_key: GATEWAY_KEYS[name],
      port: 51820,
      address: `${name}.example.net`,
      link_address: "fe80::1",
      address4: "10.100.255.1",
    });
    gw.send({ type: "load", connected: 0, load: 0, peers: 0 });
    return gw;
  };
  gw01 = await connect("gw01");
  gw02 = await connect("gw02");
  await settle();
});
afterAll(() => {
  gw01?.close();
  gw02?.close();
});

describe("Parker delivery to the concentrators", () => {
  it("pushes once; a repeated request within repush_s writes nothing new", async () => {
    const { node, key } = parkerNode();
    const first = await node.cycle();
    expect(first.kind).toBe("applied");
    const add1 = await nth(gw01, key, 1);
    const add2 = await nth(gw02, key, 1);
    gw01.send({ type: "ack", seq: add1.seq });
    gw02.send({ type: "ack", seq: add2.seq });
    await settle();

    for (let i = 0; i < 3; i++) expect(await node.cycle()).toMatchObject({ kind: "applied", changes: [] });
    await settle();
    expect(entriesFor(gw01, key)).toHaveLength(1);
    expect(entriesFor(gw02, key)).toHaveLength(1);
    const receipt = await (await receiptOf(DOMAIN, key)).json<{ gateways: Array<{ state: string }> }>();
    expect(receipt.gateways.map((g) => g.state)).toEqual(["installed", "installed"]);
  });

  it("pushes again after a concentrator's stale cleanup removed the peer, with the same ranges", async () => {
    const { node, key } = parkerNode();
    const first = await node.cycle();
    if (first.kind !== "applied") throw new Error(JSON.stringify(first));
    const add = await nth(gw01, key, 1);
    gw01.send({ type: "ack", seq: add.seq });
    gw02.send({ type: "ack", seq: (await nth(gw02, key, 1)).seq });
    gw01.send({ type: "removed", entries: [{ public_key: key, reason: "stale: no handshake", at: Date.now() }] });
    await settle();
    const removed = await (await receiptOf(DOMAIN, key)).json<{ gateways: Array<{ name: string; state: string }> }>();
    expect(removed.gateways.find((g) => g.name === "gw01")?.state).toBe("removed");

    // The node comes back (its tunnel is dead without the peer): its next request repairs gw01.
    expect(await node.cycle()).toMatchObject({ kind: "applied", changes: [] });
    const again = await nth(gw01, key, 2);
    expect(again.allowed_ips).toEqual(add.allowed_ips);
    expect(again.allowed_ips).toEqual([first.config.range6, first.config.range4]);
    gw01.send({ type: "ack", seq: again.seq });
    gw02.send({ type: "ack", seq: (await nth(gw02, key, 2)).seq });
    await settle();
    const healed = await (await receiptOf(DOMAIN, key)).json<{ gateways: Array<{ state: string }> }>();
    expect(healed.gateways.map((g) => g.state)).toEqual(["installed", "installed"]);
  });

  it("pushes again after a concentrator failed to install the node", async () => {
    const { node, key } = parkerNode();
    expect((await node.cycle()).kind).toBe("applied");
    const add = await nth(gw01, key, 1);
    gw01.send({ type: "ack", seq: add.seq, failed: [{ public_key: key, reason: "ip route: RTNETLINK busy" }] });
    gw02.send({ type: "ack", seq: (await nth(gw02, key, 1)).seq });
    await settle();
    expect(await node.cycle()).toMatchObject({ kind: "applied", changes: [] });
    expect((await nth(gw01, key, 2)).allowed_ips).toEqual(add.allowed_ips);
  });

  it("moves a node off a draining concentrator: the node drops that tunnel, the concentrator gets a removal", async () => {
    const { node, key } = parkerNode();
    const first = await node.cycle();
    if (first.kind !== "applied") throw new Error(JSON.stringify(first));
    expect([...node.tunnels.keys()]).toEqual(["wg_c1", "wg_c2"]);
    await nth(gw02, key, 1);

    const drain = (on: boolean) =>
      adminFetch("/api/v1/admin/gateways/gw02/drain", { method: "PUT", body: JSON.stringify({ drain: on }) });
    expect((await drain(true)).status).toBe(200);
    try {
      const moved = await node.cycle();
      if (moved.kind !== "applied") throw new Error(JSON.stringify(moved));
      // gw02 was the only concentrator of its PoP: the node keeps its muc tunnel only.
      expect((moved.config.concentrators as Array<{ id: number }>).map((c) => c.id)).toEqual([1]);
      expect(moved.changes).toEqual([{ op: "delete", iface: "wg_c2" }]);
      expect(moved.config.range6).toBe(first.config.range6);
      await nth(gw02, key, 1, "remove");
      // A new node is not sent to the draining concentrator either.
      const other = parkerNode();
      const fresh = await other.node.cycle();
      expect(
        fresh.kind === "applied" && (fresh.config.concentrators as Array<{ id: number }>).map((c) => c.id),
      ).toEqual([1]);
    } finally {
      expect((await drain(false)).status).toBe(200);
    }
    // Drained no more: the node gets its fra tunnel back at its next request.
    const back = await node.cycle();
    expect(back.kind === "applied" && back.changes.filter((c) => c.op === "create").map((c) => c.iface)).toEqual([
      "wg_c2",
    ]);
    await nth(gw02, key, 2);
  });
});
