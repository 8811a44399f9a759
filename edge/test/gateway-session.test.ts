import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { connectGateway, freshKey, receiptOf, register } from "./helpers.ts";

const DOMAIN = "ffmuc_welt";

describe("fan-out and resume", () => {
  it("sends a new registration to a caught-up gateway, then receipts show it installed after the ack", async () => {
    const gw = await connectGateway("gw01", DOMAIN);
    gw.hello(0);
    const welcome = await gw.welcomed();
    expect(welcome).toMatchObject({ mode: "snapshot", domain: DOMAIN, gateway: "gw01", variant: "wgkex" });
    const key = freshKey();
    expect((await register(1, DOMAIN, key)).status).toBe(200);
    await gw.waitForKey(key);
    const entry = gw.entries().find((e) => e.public_key === key)!;

    let receipt = await (await receiptOf(DOMAIN, key)).json<{ gateways: Array<{ name: string; state: string }> }>();
    expect(receipt.gateways.find((g) => g.name === "gw01")?.state).toBe("pending");
    gw.send({ type: "ack", seq: entry.seq });
    receipt = await (await receiptOf(DOMAIN, key)).json();
    expect(receipt.gateways).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "gw01", state: "installed" }),
        expect.objectContaining({ name: "gw02", state: "pending" }),
        expect.objectContaining({ name: "gw03", state: "pending" }),
      ]),
    );
    gw.close();
  });

  it("replays exactly what a gateway missed while it was away, in order, then goes live", async () => {
    const first = await connectGateway("gw02", DOMAIN);
    first.hello(0);
    await first.welcomed();
    const before = freshKey();
    await register(1, DOMAIN, before);
    await first.waitForKey(before);
    const since = first.entries().at(-1)!.seq;
    first.close();

    const missed = Array.from({ length: 25 }, () => freshKey());
    for (const key of missed) expect((await register(1, DOMAIN, key)).status).toBe(200);

    const again = await connectGateway("gw02", DOMAIN);
    again.hello(since);
    expect((await again.welcomed()).mode).toBe("replay");
    await again.until(
      (fs) => missed.every((k) => fs.some((f) => f.type === "peers" && f.entries.some((e) => e.public_key === k))),
      "missed keys",
    );
    const replayed = again.entries();
    expect(replayed.map((e) => e.public_key)).toEqual(missed);
    expect(replayed.every((e) => e.op === "add" && e.seq > since)).toBe(true);
    expect([...replayed.map((e) => e.seq)].sort((a, b) => a - b)).toEqual(replayed.map((e) => e.seq));

    const live = freshKey();
    await register(1, DOMAIN, live);
    await again.waitForKey(live);
    again.close();
  });

  it("takes a resuming gateway's since as a cumulative ack (its last acks may have been lost in a restart)", async () => {
    const domain = "ffmuc_gluon";
    const gw = await connectGateway("gw01", domain);
    gw.hello(0);
    await gw.until((fs) => fs.some((f) => f.type === "snapshot" && f.done), "snapshot");
    const key = freshKey();
    await register(1, domain, key);
    await gw.waitForKey(key);
    const seq = gw.entries().at(-1)!.seq;
    gw.close(); // installed, but the ack never arrived
    const stateOn = async (name: string) =>
      (await (await receiptOf(domain, key)).json<{ gateways: Array<{ name: string; state: string }> }>()).gateways.find(
        (g) => g.name === name,
      )?.state;
    expect(await stateOn("gw01")).toBe("pending");

    // Asking for a snapshot says "I have nothing": no ack.
    const rebuilt = await connectGateway("gw01", domain);
    rebuilt.hello(seq, true);
    await rebuilt.welcomed();
    expect(await stateOn("gw01")).toBe("pending");
    rebuilt.close();

    const resumed = await connectGateway("gw01", domain);
    resumed.hello(seq);
    expect((await resumed.welcomed()).mode).toBe("replay");
    expect(await stateOn("gw01")).toBe("installed");
    resumed.close();
  });

  it("pages a long replay in frames of at most 1000 entries", async () => {
    const gw = await connectGateway("gw03", DOMAIN);
    gw.hello(0);
    const head = (await gw.welcomed()).head;
    gw.close();
    const keys = Array.from({ length: 1200 }, () => freshKey());
    // Straight into the object (1,200 POSTs would trip the per-address limit), all at once:
    // they share a few group commits.
    const stub = env.DOMAIN_REGISTRY.getByName(DOMAIN);
    await Promise.all(keys.map((key) => stub.register({ publicKey: key, version: 1, source: "192.0.2.1" })));
    const again = await connectGateway("gw03", DOMAIN);
    again.hello(head);
    await again.until(() => again.entries().length >= 1200, "1200 replayed entries", 10_000);
    const sizes = again.frames
      .filter((f) => f.type === "peers")
      .map((f) => (f.type === "peers" ? f.entries.length : 0));
    expect(sizes[0]).toBe(1000);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1000);
    expect(new Set(again.entries().map((e) => e.public_key))).toEqual(new Set(keys));
    again.close();
  });

  it("sends the full desired set as a snapshot when asked, and when since is 0 or beyond head", async () => {
    const domain = "ffmuc_muc_cty";
    const keys = Array.from({ length: 5 }, () => freshKey());
    for (const key of keys) await register(1, domain, key);
    for (const [since, snapshot] of [
      [0, undefined],
      [3, true],
      [999_999, undefined],
    ] as const) {
      const gw = await connectGateway("gw01", domain);
      gw.hello(since, snapshot);
      expect((await gw.welcomed()).mode).toBe("snapshot");
      await gw.until((fs) => fs.some((f) => f.type === "snapshot" && f.done), "snapshot done");
      expect(new Set(gw.snapshotKeys())).toEqual(new Set(keys));
      gw.close();
    }
  });

  it("replaces an older socket of the same gateway", async () => {
    const old = await connectGateway("gw01", DOMAIN);
    old.hello(0);
    await old.welcomed();
    const fresh = await connectGateway("gw01", DOMAIN);
    fresh.hello(0);
    await fresh.welcomed();
    await old.until(() => old.closed !== undefined, "old socket closed");
    expect(old.frames.at(-1)).toMatchObject({ type: "error", code: "replaced" });
    expect(old.closed?.code).toBe(4000);
    fresh.close();
  });

  it("keeps fanning out after the object is evicted with sockets open (hibernation)", async () => {
    const domain = "ffmuc_gluon";
    const gw = await connectGateway("gw02", domain);
    gw.hello(0);
    expect((await gw.welcomed()).variant).toBe("gluon");
    const k1 = freshKey();
    await register(1, domain, k1);
    await gw.waitForKey(k1);

    await evictDurableObject(env.DOMAIN_REGISTRY.getByName(domain));

    const k2 = freshKey();
    expect((await register(1, domain, k2)).status).toBe(200);
    await gw.waitForKey(k2);
    const seqs = gw.entries().map((e) => e.seq);
    expect(seqs[1]).toBeGreaterThan(seqs[0]!);
    // The socket is still the gateway's after the wake-up: acks land.
    gw.send({ type: "ack", seq: seqs[1]! });
    const receipt = await (await receiptOf(domain, k2)).json<{ gateways: Array<{ name: string; state: string }> }>();
    expect(receipt.gateways.find((g) => g.name === "gw02")?.state).toBe("installed");
    gw.close();
  });
});
