import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type ParkerConfig, parkerSchema } from "../src/config/parker.ts";
import { type ConcentratorState, type ParkerHooks, ParkerService } from "../src/parker/parker-service.ts";
import { ParkerStore } from "../src/parker/parker-store.ts";
import { freshKey } from "./helpers.ts";

/**
 * The IPAM against real SQLite in a Durable Object, with the object's other duties (sockets,
 * log) replaced by recording hooks. The same rules meet real requests in parker-edge tests.
 */
const HOUR = 3_600_000;
const T0 = Date.parse("2026-12-01T00:00:00Z");
const PUBLIC_KEY = "RWQxMjM0NTY3OAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";

const parkerConfig = (over: Record<string, unknown> = {}): ParkerConfig =>
  parkerSchema.parse({
    domain: "ffbs_parker",
    public_key: PUBLIC_KEY,
    ipv6: { pool: "2001:db8:100::/56", length: 64 },
    ipv4: { pool: "10.0.0.0/16", length: 24 },
    retry_jitter_percent: 0,
    ...over,
  });

const concentrator = (name: string, id: number, over: Partial<ConcentratorState> = {}): ConcentratorState => ({
  name,
  id,
  pop: "",
  weight: 1,
  online: true,
  reachable: true,
  drain: false,
  peers: 0,
  view: {
    name,
    id,
    pop: "",
    publicKey: "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=",
    port: 51820,
    address4: "10.255.255.1",
    address6: "fe80::1",
    endpoint4: `198.51.100.${id}`,
    endpoint6: `2001:db8::${id}`,
  },
  ...over,
});

class Recorder implements ParkerHooks {
  states: ConcentratorState[] = [concentrator("gw01", 1), concentrator("gw02", 2, { pop: "b" })];
  published: Array<{ key: string; concentrators: readonly string[]; routes: readonly string[] }> = [];
  withdrawn: string[] = [];
  counts = new Map<string, number>();
  denied = new Set<string>();
  isDenied = (key: string) => this.denied.has(key);
  concentrators = () => this.states;
  publish = (key: string, concentrators: readonly string[], routes: readonly string[]) => {
    this.published.push({ key, concentrators, routes });
    return Promise.resolve();
  };
  withdraw = (key: string) => {
    this.withdrawn.push(key);
  };
  shiftLoad = () => {};
  count = (kind: string) => {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  };
}

let objects = 0;
/** A fresh object (its migrations create Parker's tables), and a service over it. */
async function withService<T>(
  config: ParkerConfig,
  body: (service: ParkerService, hooks: Recorder, store: ParkerStore) => Promise<T>,
): Promise<T> {
  const stub = env.DOMAIN_REGISTRY.getByName(`ffbs_ipam_test_${++objects}`);
  return runInDurableObject(stub, (_obj, state) => {
    const store = new ParkerStore(state.storage.sql);
    const hooks = new Recorder();
    return body(new ParkerService(store, config, hooks, () => 0), hooks, store);
  });
}

const ask = (
  service: ParkerService,
  key: string,
  source = "198.51.100.77",
  now = T0,
  v6mtu = 1500,
  client = "2001:db8:ffff::7",
) => service.handle({ request: { publicKey: key, nonce: "n", v6mtu }, source, clientAddress: client, now });

describe("Parker IPAM in the domain's object", () => {
  it("gives each key a stable allocation at the lowest free index, and a complete answer", async () => {
    await withService(parkerConfig(), async (service, hooks) => {
      const a = freshKey();
      const b = freshKey();
      const first = await ask(service, a);
      expect(first).toMatchObject({
        kind: "config",
        answer: {
          nonce: "n",
          time: T0 / 1000,
          id: 1,
          mtu: 1375,
          range4: "10.0.1.0/24",
          address4: "10.0.1.1",
          range6: "2001:db8:100:1::/64",
          address6: "2001:db8:100:1::1",
          wg_keepalive: 25,
          retry: 120,
          concentrators: [
            { id: 1, endpoint: "[2001:db8::1]:51820", address4: "10.255.255.1", address6: "fe80::1" },
            { id: 2, endpoint: "[2001:db8::2]:51820" },
          ],
        },
      });
      expect(await ask(service, b)).toMatchObject({ answer: { id: 2 } });
      expect(await ask(service, a, "203.0.113.9", T0 + HOUR)).toMatchObject({
        answer: { id: 1, range6: "2001:db8:100:1::/64" },
      });
      expect(hooks.published.at(-1)).toEqual({
        key: a,
        concentrators: ["gw01", "gw02"],
        routes: ["2001:db8:100:1::/64", "10.0.1.0/24"],
      });
    });
  });

  it("sends IPv4 endpoints to DS-Lite nodes, with the smaller MTU", async () => {
    await withService(parkerConfig(), async (service) => {
      const decision = await ask(service, freshKey(), "x", T0, 1436);
      expect(decision).toMatchObject({
        answer: { mtu: 1356, concentrators: [{ endpoint: "198.51.100.1:51820" }, { endpoint: "198.51.100.2:51820" }] },
      });
    });
  });

  it("answers 'come back later' and allocates nothing while no concentrator is up", async () => {
    await withService(parkerConfig(), async (service, hooks, store) => {
      hooks.states = hooks.states.map((s) => ({ ...s, online: false, reachable: false }));
      expect(await ask(service, freshKey())).toEqual({
        kind: "retry",
        reason: "no-concentrator",
        nonce: "n",
        time: T0 / 1000,
        retry: 3600,
      });
      expect(store.usage().used).toBe(0);
      expect(hooks.published).toEqual([]);
    });
  });

  it("limits new allocations per source; known keys are never limited", async () => {
    await withService(parkerConfig(), async (service) => {
      const known = freshKey();
      expect((await ask(service, known, "198.51.100.1")).kind).toBe("config");
      for (let i = 0; i < 4; i++) expect((await ask(service, freshKey(), "198.51.100.1")).kind).toBe("config");
      expect(await ask(service, freshKey(), "198.51.100.1")).toMatchObject({ kind: "retry", reason: "source-limit" });
      expect((await ask(service, known, "198.51.100.1")).kind).toBe("config");
      expect((await ask(service, freshKey(), "198.51.100.1", T0 + HOUR + 1)).kind).toBe("config");
    });
  });

  it("keeps no client address: a keyed hash, blanked once the per-source window passed", async () => {
    await withService(parkerConfig(), async (service, _hooks, store) => {
      const key = freshKey();
      await ask(service, key, "198.51.100.9");
      const source = store.allocation(key)!.source;
      expect(source).toMatch(/^[0-9a-f]{32}$/);
      expect(source).toBe(store.sourceTag("198.51.100.9"));
      expect(source).not.toBe(store.sourceTag("198.51.100.10"));
      service.expire(T0 + HOUR + 1);
      expect(store.allocation(key)!.source).toBe("");
    });
  });

  it("limits new allocations per hour over all sources", async () => {
    await withService(parkerConfig({ limits: { new_per_hour: 3 } }), async (service) => {
      for (let i = 0; i < 3; i++) expect((await ask(service, freshKey(), `s${i}`)).kind).toBe("config");
      expect(await ask(service, freshKey(), "s9")).toMatchObject({ reason: "rate-limit" });
      expect((await ask(service, freshKey(), "s9", T0 + HOUR + 1)).kind).toBe("config");
    });
  });

  it("caps unconfirmed allocations, frees them after unconfirmed_h, keeps confirmed ones", async () => {
    // 255 slots, 2 % unconfirmed = 5.
    await withService(
      parkerConfig({ limits: { max_unconfirmed_percent: 2, new_per_hour: 1000 } }),
      async (service, hooks, store) => {
        const keys = Array.from({ length: 5 }, () => freshKey());
        for (const [i, k] of keys.entries()) expect((await ask(service, k, `s${i}`)).kind).toBe("config");
        expect(await ask(service, freshKey(), "s9")).toMatchObject({ reason: "unconfirmed-limit" });
        expect(service.confirm([keys[0]!, keys[1]!], T0 + 60_000)).toBe(2);
        expect((await ask(service, freshKey(), "s10")).kind).toBe("config");
        // After 2 h the unconfirmed ones go; the confirmed two stay.
        expect(service.expire(T0 + 2 * HOUR + 1)).toBe(4);
        expect(hooks.withdrawn).toHaveLength(4);
        expect(store.usage()).toEqual({ used: 2, unconfirmed: 0 });
        expect(await ask(service, keys[0]!, "s0", T0 + 3 * HOUR)).toMatchObject({ answer: { id: 1 } });
        // Freed indexes are handed out again, lowest first.
        expect(await ask(service, freshKey(), "s11", T0 + 3 * HOUR)).toMatchObject({ answer: { id: 3 } });
      },
    );
  });

  it("frees an allocation whose node had no handshake for idle_days", async () => {
    await withService(parkerConfig({ expiry: { idle_days: 1 } }), async (service, hooks) => {
      const key = freshKey();
      await ask(service, key);
      service.confirm([key], T0 + 60_000);
      expect(service.expire(T0 + 23 * HOUR)).toBe(0);
      service.confirm([key], T0 + 20 * HOUR);
      expect(service.expire(T0 + 30 * HOUR)).toBe(0);
      expect(service.expire(T0 + 45 * HOUR)).toBe(1);
      expect(hooks.withdrawn).toEqual([key]);
    });
  });

  it("says 'pool full' when it is, and raises the alarm before", async () => {
    const tiny = parkerConfig({
      ipv6: { pool: "2001:db8:100::/62", length: 64 },
      ipv4: { shared: "10.80.96.0/22" },
      limits: { max_unconfirmed_percent: 100 },
      pool_alarm_percent: 60,
    });
    await withService(tiny, async (service) => {
      expect(service.pool()).toEqual({ capacity: 3, used: 0, unconfirmed: 0, used_percent: 0, alarm: false });
      for (let i = 0; i < 3; i++) expect((await ask(service, freshKey(), `s${i}`)).kind).toBe("config");
      expect(await ask(service, freshKey(), "s9")).toMatchObject({ kind: "retry", reason: "pool-full", retry: 3600 });
      expect(service.pool()).toMatchObject({ used: 3, used_percent: 100, alarm: true });
    });
  });

  it("uses wgkex's id (the key) and 464XLAT ranges when configured so", async () => {
    const xlat = parkerConfig({
      answer_format: "wgkex",
      xlat: true,
      ipv6: { pool: "2001:db8:ed0::/56", length: 63 },
      ipv4: { shared: "10.80.96.0/22" },
    });
    await withService(xlat, async (service) => {
      const key = freshKey();
      expect(await ask(service, key)).toMatchObject({
        answer: {
          id: key,
          range6: "2001:db8:ed0:2::/64",
          xlat_range6: "2001:db8:ed0:3::/64",
          range4: "10.80.96.0/22",
          address4: "10.80.96.1",
        },
      });
    });
  });
});
