import { MAX_TIMESTAMP_MS, PROTOCOL_VERSION } from "@wgkex-edge/shared";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EdgeStatus } from "../src/stats/collect.ts";
import {
  connectGateway,
  fetchEdge,
  freshKey,
  GATEWAY_KEYS,
  type GatewayClient,
  receiptOf,
  register,
} from "./helpers.ts";

// Issue 12, section 2: arbitrary frame sequences from an authenticated gateway, thrown at the
// domain's object in workerd over real WebSockets, while an honest gateway and nodes go on.
// Whatever the rogue sends, receipts, lag and the honest gateway's state stay true.

const DOMAIN = "ffmuc_welt";
const ROGUES = ["gw02", "gw03"] as const; // taking turns: each has its own hello budget
const POOL = Array.from({ length: 4 }, () => freshKey());
const HUGE = Number.MAX_SAFE_INTEGER;

const aKey = fc.oneof(
  fc.constantFrom(...POOL, GATEWAY_KEYS.gw01!),
  fc.constant(null).map(() => freshKey()),
);
const aSeq = fc.oneof(fc.nat(60), fc.constantFrom(0, HUGE, -1, 1.5, 2 ** 53));
const aTime = fc.oneof(
  fc.constant(null).map(() => Date.now()),
  fc.constantFrom(0, -1, MAX_TIMESTAMP_MS, MAX_TIMESTAMP_MS + 1, HUGE, 8.64e15 + 1),
  fc.integer({ min: -1e12, max: 1e12 }).map((d) => Date.now() + d),
);
const aCount = fc.oneof(fc.nat(1000), fc.constantFrom(-1, 1.5, HUGE));

/** A frame as a gateway could send it: well-formed or not, in any state. */
const rogueFrame = fc.oneof(
  fc.record({
    type: fc.constant("hello"),
    v: fc.oneof(fc.constant(PROTOCOL_VERSION), fc.integer({ min: -1, max: 4 })),
    agent: fc.string({ maxLength: 20 }),
    since: aSeq,
    snapshot: fc.option(fc.boolean(), { nil: undefined }),
  }),
  fc.record({
    type: fc.constant("ack"),
    seq: aSeq,
    failed: fc.option(
      fc.array(fc.record({ public_key: aKey, reason: fc.string({ maxLength: 30 }) }), { maxLength: 3 }),
      {
        nil: undefined,
      },
    ),
  }),
  fc.record({
    type: fc.constant("removed"),
    entries: fc.array(fc.record({ public_key: aKey, reason: fc.string({ maxLength: 30 }), at: aTime }), {
      maxLength: 3,
    }),
  }),
  fc.record({ type: fc.constant("live"), keys: fc.array(aKey, { maxLength: 5 }) }),
  // Never asked for here: a verified is only ever an answer to the edge's verify.
  fc.record({
    type: fc.constant("verified"),
    ok: aCount,
    repaired: fc.array(aKey, { maxLength: 3 }),
    failed: fc.option(
      fc.array(fc.record({ public_key: aKey, reason: fc.string({ maxLength: 30 }) }), { maxLength: 3 }),
      { nil: undefined },
    ),
  }),
  fc.record({ type: fc.constant("load"), connected: aCount, load: aCount, peers: aCount }),
  fc.record({
    type: fc.constant("interface"),
    public_key: aKey,
    port: fc.integer({ min: 0, max: 70000 }),
    address: fc.string({ maxLength: 20 }),
    link_address: fc.constantFrom("fe80::1", "2001:db8::1"),
  }),
  fc.json({ maxDepth: 2 }).map((text) => ({ raw: text })),
  fc.string({ maxLength: 40 }).map((text) => ({ raw: text })),
  fc.constant({ binary: true }),
  fc.constant({ flood: 250 }),
);
type RogueFrame = typeof rogueFrame extends fc.Arbitrary<infer T> ? T : never;

function sendAs(gw: GatewayClient, frame: RogueFrame): void {
  if ("raw" in frame) gw.send(frame.raw);
  else if ("binary" in frame) gw.ws.send(new Uint8Array([1, 2, 3]));
  else if ("flood" in frame)
    for (let i = 0; i < frame.flood; i++) gw.send({ type: "load", connected: i, load: i, peers: 0 });
  else gw.send(frame);
}

/** The honest gateway: acks every frame it receives, as an agent does after installing. */
let honest: GatewayClient;
let honestAcked = 0;

beforeAll(async () => {
  for (const key of POOL) expect((await register(1, DOMAIN, key)).status).toBe(200);
  honest = await connectGateway("gw01", DOMAIN);
  honest.ws.addEventListener("message", () => {
    const last = honest.frames.at(-1);
    const seq =
      last?.type === "snapshot" && last.done ? last.head : last?.type === "peers" ? last.entries.at(-1)!.seq : 0;
    if (seq > honestAcked) {
      honestAcked = seq;
      honest.send({ type: "ack", seq });
    }
  });
  honest.hello(0);
  await honest.until((fs) => fs.some((f) => f.type === "snapshot" && f.done), "the honest gateway's snapshot");
});

afterAll(() => honest.close());

async function domainStatus() {
  const res = await fetchEdge("/api/v1/status");
  expect(res.status).toBe(200);
  return (await res.json<EdgeStatus>()).domains.find((d) => d.domain === DOMAIN)!;
}

describe("a rogue gateway's arbitrary frames (property)", () => {
  it("never make receipts, lag or another gateway's state untrue, nor the object unavailable", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(rogueFrame, { maxLength: 12 }), async (frames) => {
        const rogue = ROGUES[run++ % ROGUES.length]!;
        // Nodes keep registering while gateways misbehave, and the honest gateway installs.
        const key = freshKey();
        expect((await register(1, DOMAIN, key)).status).toBe(200);
        await honest.waitForKey(key);
        const keySeq = honest.entries().find((e) => e.public_key === key)!.seq;
        await waitFor(async () => (await domainStatus()).gateways.find((g) => g.name === "gw01")!.acked_seq >= keySeq);

        const gw = await connectGateway(rogue, DOMAIN);
        for (const frame of frames) sendAs(gw, frame);
        gw.close(); // the edge handles every frame sent before the close, then the close
        await gw.until(() => gw.closed !== undefined, "the rogue's close", 10_000);

        const status = await domainStatus();
        expect(status.head).toBe(honestAcked);
        for (const g of status.gateways) {
          expect(g.acked_seq).toBeGreaterThanOrEqual(0);
          expect(g.acked_seq).toBeLessThanOrEqual(status.head);
          expect(g.lag).toBeGreaterThanOrEqual(0);
          if (g.acked_seq === status.head) expect(g.lag).toBe(0);
        }
        const gw01 = status.gateways.find((g) => g.name === "gw01")!;
        expect(gw01).toMatchObject({ online: true, acked_seq: honestAcked, lag: 0 });
        expect(honest.closed).toBeUndefined();

        const now = Date.now();
        for (const k of [...POOL, key]) {
          const res = await receiptOf(DOMAIN, k);
          expect(res.status).toBe(200);
          const receipt = await res.json<{
            seq: number;
            gateways: Array<{ name: string; state: string; at: string | null }>;
          }>();
          for (const g of receipt.gateways) {
            if (g.at !== null) expect(Date.parse(g.at)).toBeLessThanOrEqual(now + 1000);
            const acked = status.gateways.find((s) => s.name === g.name)!.acked_seq;
            if (g.state === "installed") expect(acked).toBeGreaterThanOrEqual(receipt.seq);
          }
          // Only gw01 reports about gw01.
          expect(receipt.gateways.find((g) => g.name === "gw01")?.state).toBe("installed");
        }
      }),
      { numRuns: 30 },
    );
  }, 180_000);
});

async function waitFor(probe: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}
