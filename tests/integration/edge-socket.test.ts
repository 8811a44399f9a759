import { afterEach, describe, expect, it } from "vitest";
import type { LocalEdge } from "../../edge/local/serve.ts";
import { randomKey, registerKey, startEdge, TEST_TOKENS, tempDir } from "../support/edge.ts";
import { RawGateway } from "../support/gateway-socket.ts";

const DOMAIN = "ffmuc_welt";
let edges: LocalEdge[] = [];
afterEach(async () => {
  await Promise.all(edges.map((e) => e.stop().catch(() => {})));
  edges = [];
});

async function edge(options: Parameters<typeof startEdge>[0] = {}): Promise<LocalEdge> {
  const e = await startEdge(options);
  edges.push(e);
  return e;
}

describe("the edge in workerd, reached over real sockets", () => {
  it("refuses a wrong token with 401 before any frame", async () => {
    const e = await edge();
    await expect(RawGateway.connect(e.url, "gw01", DOMAIN, "wrong")).rejects.toThrow(/HTTP 401/);
  });

  it("delivers a registration to a Node ws gateway and reports it installed after the ack", async () => {
    const e = await edge();
    const gw = await RawGateway.connect(e.url, "gw01", DOMAIN, TEST_TOKENS.gw01);
    gw.hello(0);
    await gw.until(() => gw.frames.some((f) => f.type === "snapshot" && f.done), "snapshot");
    const key = randomKey();
    const res = await registerKey(e.url, DOMAIN, key);
    expect(await res.text()).toBe('{"Message":"OK"}\n');
    await gw.until(() => gw.entries().some((x) => x.public_key === key), "the key");
    const statusUrl = new URL(`/api/v1/wg/key/status?domain=${DOMAIN}&public_key=${encodeURIComponent(key)}`, e.url);
    const gw01State = async () => {
      const body = (await (await fetch(statusUrl)).json()) as { gateways: Array<{ name: string; state: string }> };
      return body.gateways.find((g) => g.name === "gw01")?.state;
    };
    expect(await gw01State()).toBe("pending");
    gw.send({ type: "ack", seq: gw.entries().at(-1)!.seq });
    // The ack and the status request travel on different connections: poll briefly.
    let state = await gw01State();
    for (let i = 0; i < 50 && state !== "installed"; i++) {
      await new Promise((r) => setTimeout(r, 20));
      state = await gw01State();
    }
    expect(state).toBe("installed");
    await gw.close();
  });

  it("reciprocates a gateway's close at once: the Node client sees a clean 1000, not a 1006 after a timeout", async () => {
    const e = await edge();
    const gw = await RawGateway.connect(e.url, "gw01", DOMAIN, TEST_TOKENS.gw01);
    gw.hello(0);
    await gw.until(() => gw.frames.some((f) => f.type === "welcome"), "welcome");
    const started = performance.now();
    await gw.close();
    expect(gw.closed?.code).toBe(1000);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("loses nothing across a gateway disconnect: what it missed is replayed on resume", async () => {
    const e = await edge();
    const gw = await RawGateway.connect(e.url, "gw02", DOMAIN, TEST_TOKENS.gw02);
    gw.hello(0);
    await gw.until(() => gw.frames.some((f) => f.type === "snapshot" && f.done), "snapshot");
    const first = randomKey();
    await registerKey(e.url, DOMAIN, first);
    await gw.until(() => gw.entries().some((x) => x.public_key === first), "first key");
    const applied = gw.entries().at(-1)!.seq;
    gw.ws.terminate(); // abrupt, like a gateway losing its uplink
    const keys = Array.from({ length: 200 }, randomKey);
    const statuses = await Promise.all(keys.map((k) => registerKey(e.url, DOMAIN, k).then((r) => r.status)));
    expect(statuses.every((s) => s === 200)).toBe(true);
    const again = await RawGateway.connect(e.url, "gw02", DOMAIN, TEST_TOKENS.gw02);
    again.hello(applied);
    await again.until(() => new Set(again.entries().map((x) => x.public_key)).size >= 200, "200 replayed keys");
    expect(new Set(again.entries().map((x) => x.public_key))).toEqual(new Set(keys));
    await again.close();
  });

  it("loses nothing across an edge restart mid-burst: every key answered 200 reaches the gateway", async () => {
    const persistDir = tempDir("edge-restart");
    let e = await edge({ persistDir });
    const port = Number(e.url.port);
    const keys = Array.from({ length: 400 }, randomKey);
    const ok: string[] = [];
    let settled = 0;
    const burst = Promise.all(
      keys.map(async (k, i) => {
        await new Promise((r) => setTimeout(r, i * 2));
        try {
          const res = await registerKey(new URL(`http://127.0.0.1:${port}/`), DOMAIN, k);
          if (res.status === 200 && (await res.text()) === '{"Message":"OK"}\n') ok.push(k);
        } catch {
          // refused while the edge was down: the node would retry at its next run
        }
        settled += 1;
      }),
    );
    // Restart once enough keys were answered while the rest are still in flight; a fixed
    // delay would, on a loaded machine, end within the edge's cold start.
    const deadline = Date.now() + 20_000;
    while (ok.length <= 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(settled).toBeLessThan(keys.length);
    await e.stop();
    edges = edges.filter((x) => x !== e);
    e = await edge({ persistDir, port });
    await burst;
    expect(ok.length).toBeGreaterThan(50);

    const gw = await RawGateway.connect(e.url, "gw01", DOMAIN, TEST_TOKENS.gw01);
    gw.hello(0);
    await gw.until(() => gw.frames.some((f) => f.type === "snapshot" && f.done), "snapshot");
    const delivered = new Set(gw.frames.flatMap((f) => (f.type === "snapshot" ? f.keys : [])));
    const missing = ok.filter((k) => !delivered.has(k));
    expect(missing).toEqual([]);
    await gw.close();
  });
});
