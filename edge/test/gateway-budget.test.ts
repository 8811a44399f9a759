import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { gatewayBudgetSchema } from "../src/config/schema.ts";
import type { DomainRegistry } from "../src/registry/domain-registry.ts";
import { GatewayBudget, TokenBucket } from "../src/registry/session/gateway-budget.ts";
import type { EdgeStatus } from "../src/stats/collect.ts";
import { connectGateway, fetchEdge, freshKey, type GatewayClient, register } from "./helpers.ts";

// The test configuration's budget (wrangler.test.toml): 50 frames/s (burst 200), 256 KiB/s
// (burst 1 MiB), 60 hellos/min (burst 20), per gateway and domain.

describe("token bucket and gateway budget (pure)", () => {
  it("takes up to the burst at once, then refills at the rate, never above the burst", () => {
    const bucket = new TokenBucket(0.01, 3, 0); // 10/s
    expect([1, 2, 3, 4].map(() => bucket.take(1, 0))).toEqual([true, true, true, false]);
    expect(bucket.take(1, 99)).toBe(false);
    expect(bucket.take(1, 100)).toBe(true);
    expect(bucket.take(4, 10_000)).toBe(false); // refilled to 3, not 99
    expect(bucket.take(3, 10_000)).toBe(true);
  });

  it("names what was exceeded: frames, bytes or hellos", () => {
    const limits = gatewayBudgetSchema.parse({
      frames_per_s: 1,
      frames_burst: 2,
      bytes_per_s: 10,
      bytes_burst: 1_048_576,
      hellos_per_min: 1,
      hellos_burst: 1,
    });
    const budget = new GatewayBudget(limits, 0);
    expect(budget.frame(1_048_576, 0)).toBeUndefined();
    expect(budget.frame(1, 0)).toBe("more than 10 bytes/s of frames (burst 1048576)");
    expect(budget.frame(1, 0)).toBe("more than 1 frames/s (burst 2)");
    expect(budget.hello(0)).toBeUndefined();
    expect(budget.hello(59_999)).toBe("more than 1 hellos/min (burst 1)");
    expect(budget.hello(60_000)).toBeUndefined();
  });

  it("takes no burst below the largest frame, and no unacked_bytes below the largest frame the edge sends", () => {
    expect(() => gatewayBudgetSchema.parse({ bytes_burst: 1000 })).toThrow(/at least 1048576/);
    expect(() => gatewayBudgetSchema.parse({ unacked_bytes: 100_000 })).toThrow(
      /at least 262144, more than the largest frame the edge sends/,
    );
    expect(gatewayBudgetSchema.parse({}).unacked_bytes).toBe(16 * 1024 * 1024);
  });
});

async function statusOf(domain: string, gateway: string) {
  const status = await (await fetchEdge("/api/v1/status")).json<EdgeStatus>();
  return status.domains.find((d) => d.domain === domain)!.gateways.find((g) => g.name === gateway)!;
}

async function overBudget(gw: GatewayClient, timeoutMs = 10_000): Promise<{ message: string; close: number }> {
  await gw.until(() => gw.closed !== undefined, "the edge to close the socket", timeoutMs);
  const error = gw.frames.find((f) => f.type === "error");
  expect(error).toMatchObject({ type: "error", code: "over_budget" });
  return { message: error?.type === "error" ? error.message : "", close: gw.closed!.code };
}

describe("per-gateway budgets in the domain's object", () => {
  it("closes a gateway that floods frames with over_budget (1013); nothing it sent later counts", async () => {
    const domain = "ffmuc_welt";
    const gw = await connectGateway("gw01", domain);
    gw.hello(0);
    await gw.welcomed();
    // 1,000 at once: past the burst of 200 unless the object took 16 s to read them (a loaded box).
    for (let i = 1; i <= 1000; i++) gw.send({ type: "load", connected: i, load: i, peers: i });
    expect(await overBudget(gw, 30_000)).toEqual({
      message: "gateway gw01 sent more than 50 frames/s (burst 200) on domain ffmuc_welt; come back after a while",
      close: 1013,
    });
    const connected = (await statusOf(domain, "gw01")).connected!;
    expect(connected).toBeGreaterThanOrEqual(200); // the burst
    expect(connected).toBeLessThan(1000);
  }, 60_000);

  it("closes a gateway flooding live frames of 1,000 keys once past its bytes; the others are served", async () => {
    const domain = "ffmuc_muc_cty";
    const other = await connectGateway("gw02", domain);
    other.hello(0);
    await other.welcomed();
    const gw = await connectGateway("gw01", domain);
    gw.hello(0);
    await gw.welcomed();
    const keys = Array.from({ length: 1000 }, () => freshKey());
    const frame = JSON.stringify({ type: "live", keys });
    for (let i = 0; i < 60; i++) gw.send(frame); // ~2.8 MB, over the 1 MiB burst
    gw.send({ type: "load", connected: 4242, load: 4242, peers: 4242 });
    expect((await overBudget(gw)).message).toBe(
      "gateway gw01 sent more than 262144 bytes/s of frames (burst 1048576) on domain ffmuc_muc_cty; come back after a while",
    );
    expect((await statusOf(domain, "gw01")).connected).not.toBe(4242);
    const key = freshKey();
    expect((await register(1, domain, key)).status).toBe(200);
    await other.waitForKey(key);
    other.close();
  });

  it("stops sending to a gateway that does not acknowledge (workerd has no bufferedAmount); an acking one gets everything", async () => {
    const domain = "ffmuc_welt";
    const stub = env.DOMAIN_REGISTRY.getByName(domain);
    const live = async (gateway: string) => {
      const gw = await connectGateway(gateway, domain);
      gw.hello(0);
      await gw.until((fs) => fs.some((f) => f.type === "snapshot" && f.done), `${gateway}'s snapshot`);
      return gw;
    };
    const silent = await live("gw02");
    const reading = await live("gw03");
    let ackDue = false;
    reading.ws.addEventListener("message", () => {
      // Like an agent: one ack per batch of frames, not one per frame.
      if (ackDue) return;
      ackDue = true;
      setTimeout(() => {
        ackDue = false;
        reading.send({ type: "ack", seq: reading.entries().at(-1)!.seq });
      }, 20);
    });
    // Four group commits of 1,000 keys: a frame of ~75 KB each to both gateways, ~300 KB in
    // all, more than the test's 256 KiB; the reading gateway acknowledges each before the next.
    // The silent one only repeats an old ack (seq 0): that answers none of the frames.
    for (let round = 1; round <= 4; round++) {
      const keys = Array.from({ length: 1000 }, () => freshKey());
      await runInDurableObject(stub, (obj: DomainRegistry) =>
        Promise.all(keys.map((key) => obj.register({ publicKey: key, version: 1, source: "192.0.2.9" }))),
      );
      await reading.until(() => reading.entries().length === round * 1000, `round ${round} at the reading gateway`);
      if (silent.closed === undefined) silent.send({ type: "ack", seq: 0 });
      const seq = reading.entries().at(-1)!.seq;
      for (let i = 0; i < 200 && (await statusOf(domain, "gw03")).acked_seq < seq; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    expect(await overBudget(silent)).toEqual({
      message: "more than 262144 bytes of frames sent without an ack: read and acknowledge, then reconnect",
      close: 1013,
    });
    expect(silent.entries()).toHaveLength(3000); // three frames of 1,000, then the fourth would pass the limit
    expect(reading.entries()).toHaveLength(4000);
    expect(reading.closed).toBeUndefined();
    reading.close();
  }, 60_000);

  it("bounds hellos per gateway across sockets: reconnecting does not refill the budget", async () => {
    const domain = "ffmuc_gluon";
    const started = Date.now();
    let welcomed = 0;
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const gw = await connectGateway("gw02", domain);
      gw.hello(0);
      await gw.until((fs) => fs.some((f) => f.type === "welcome" || f.type === "error"), "welcome or error");
      if (gw.frames[0]?.type === "welcome") welcomed++;
      else if (gw.frames[0]?.type === "error" && gw.frames[0].code === "over_budget") refused++;
      gw.close();
    }
    // The burst, plus one hello per second of the loop (the refill), at most.
    const refill = Math.ceil((Date.now() - started) / 1000);
    expect(welcomed).toBeLessThanOrEqual(20 + refill);
    expect(welcomed + refused).toBe(40);
    expect(refused).toBeGreaterThan(0);
  });
});
