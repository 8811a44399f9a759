import { linkLocal } from "@wgkex-edge/shared";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunk, isBenignAddError, isBenignRemoveError, parseBatchErrors } from "../src/dataplane/batch.ts";
import { decideStale, recentPeers } from "../src/dataplane/cleanup.ts";
import { parseFdb, parseRoutes, parseWgDump, type WgPeer } from "../src/dataplane/observe.ts";
import { planPeers } from "../src/dataplane/peers.ts";
import { planReconcile } from "../src/dataplane/reconcile.ts";
import { backoffDelay } from "../src/edge/backoff.ts";
import { publicKeys } from "./helpers/fixtures.ts";

describe("batching helpers", () => {
  it("chunks", () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 3)).toEqual([]);
    fc.assert(
      fc.property(fc.array(fc.integer()), fc.integer({ min: 1, max: 50 }), (xs, n) => {
        const parts = chunk(xs, n);
        expect(parts.flat()).toEqual(xs);
        expect(parts.every((p) => p.length > 0 && p.length <= n)).toBe(true);
      }),
    );
  });

  it("reads which batch lines failed and why", () => {
    const stderr =
      'RTNETLINK answers: No such process\nCommand failed -:2\nCannot find device "nonexist"\nCommand failed -:3\n';
    expect([...parseBatchErrors(stderr)]).toEqual([
      [2, "RTNETLINK answers: No such process"],
      [3, 'Cannot find device "nonexist"'],
    ]);
    expect(parseBatchErrors("Segmentation fault").size).toBe(0);
  });

  it("treats exists / not found as success", () => {
    expect(isBenignAddError("RTNETLINK answers: File exists")).toBe(true);
    expect(isBenignAddError('Cannot find device "wg-x"')).toBe(false);
    expect(isBenignRemoveError("RTNETLINK answers: No such process")).toBe(true);
    expect(isBenignRemoveError("RTNETLINK answers: No such file or directory")).toBe(true);
    expect(isBenignRemoveError("RTNETLINK answers: Operation not permitted")).toBe(false);
  });

  it("re-validates keys and derives addresses per variant", () => {
    const [k] = publicKeys(1);
    const { peers, invalid } = planPeers([k!, "nope", k!, `${k}\n`], "gluon");
    expect(peers).toEqual([{ key: k, ll: linkLocal(k!, "gluon") }]);
    expect(invalid.map((f) => f.public_key)).toEqual(["nope", `${k}\n`]);
  });
});

describe("parsers", () => {
  it("reads wg show dump", () => {
    const dump = parseWgDump(
      "priv\tpubA=\t40011\toff\n" +
        "K1=\t(none)\t(none)\tfe80::5/128\t0\t0\t0\toff\n" +
        "K2=\t(none)\t192.0.2.1:4000\tfe80::6/128,fe80::7/128\t1700000000\t10\t20\t25\n",
    );
    expect(dump.publicKey).toBe("pubA=");
    expect(dump.listenPort).toBe(40011);
    expect(dump.peers).toEqual([
      { key: "K1=", endpoint: undefined, allowedIps: ["fe80::5/128"], latestHandshake: 0 },
      {
        key: "K2=",
        endpoint: "192.0.2.1:4000",
        allowedIps: ["fe80::6/128", "fe80::7/128"],
        latestHandshake: 1700000000,
      },
    ]);
  });

  it("reads ip -j route and bridge -j fdb", () => {
    expect(parseRoutes('[{"dst":"fe80::1","protocol":"kernel"},{"dst":"fe80::5","metric":1024}]')).toEqual([
      { dst: "fe80::1", protocol: "kernel" },
      { dst: "fe80::5", protocol: undefined },
    ]);
    expect(parseRoutes("")).toEqual([]);
    expect(
      parseFdb('[{"mac":"00:00:00:00:00:00","dst":"fe80::5","viaIf":"wg-x","flags":["self"],"state":"permanent"}]'),
    ).toEqual([{ mac: "00:00:00:00:00:00", dst: "fe80::5", via: "wg-x" }]);
  });
});

describe("reconcile plan", () => {
  const [a, b, s] = publicKeys(3, 7);
  const ll = (k: string) => linkLocal(k, "wgkex");
  const peer = (key: string, allowed = [`${ll(key)}/128`]): WgPeer => ({
    key,
    endpoint: undefined,
    allowedIps: allowed,
    latestHandshake: 0,
  });
  const opts = { variant: "wgkex" as const, wireguard: "wg-x", ownAddress: "fe80::1", staticKeys: new Set([s!]) };

  it("is empty when everything is in place", () => {
    const plan = planReconcile(
      {
        dump: { publicKey: "p", listenPort: 1, peers: [peer(a!), peer(s!)] },
        routes: [
          { dst: "fe80::1", protocol: "kernel" },
          { dst: ll(a!), protocol: undefined },
          { dst: `${ll(s!)}/128`, protocol: "boot" },
        ],
        fdb: [
          { mac: "00:00:00:00:00:00", dst: ll(a!), via: "wg-x" },
          { mac: "00:00:00:00:00:00", dst: ll(s!), via: "wg-x" },
        ],
      },
      opts,
    );
    expect(plan).toEqual({ repairPeers: [], addRoutes: [], addFdb: [], delRoutes: [], delFdb: [] });
  });

  it("repairs missing entries, removes our orphans, leaves foreign entries alone", () => {
    const plan = planReconcile(
      {
        dump: { publicKey: "p", listenPort: 1, peers: [peer(a!), peer(b!, []), peer(s!)] },
        routes: [
          { dst: "fe80::1", protocol: "kernel" }, // kernel route of our own address
          { dst: "fe80::1", protocol: undefined }, // our own address: not an orphan
          { dst: "fe80::dead", protocol: undefined }, // orphan
          { dst: "fe80::/64", protocol: "kernel" }, // foreign
          { dst: "2001:db8::/64", protocol: undefined }, // foreign
          { dst: ll(a!), protocol: undefined },
        ],
        fdb: [
          { mac: "00:00:00:00:00:00", dst: ll(a!), via: "wg-x" },
          { mac: "00:00:00:00:00:00", dst: "fe80::beef", via: "wg-x" }, // orphan
          { mac: "52:54:00:12:34:56", dst: "fe80::cafe", via: "wg-x" }, // learned: foreign
          { mac: "00:00:00:00:00:00", dst: "fe80::f00", via: "wg-other" }, // other interface: foreign
          { mac: "33:33:00:00:00:01", dst: undefined, via: undefined },
        ],
      },
      opts,
    );
    expect(plan.repairPeers).toEqual([b]);
    expect(plan.addRoutes.sort()).toEqual([ll(b!), ll(s!)].sort());
    expect(plan.addFdb.sort()).toEqual([ll(b!), ll(s!)].sort());
    expect(plan.delRoutes).toEqual(["fe80::dead"]);
    expect(plan.delFdb).toEqual(["fe80::beef"]);
  });
});

describe("stale cleanup decision", () => {
  const [a, b, c, d, s] = publicKeys(5, 9);
  const now = 1_800_000_000_000;
  const nowS = now / 1000;
  const policy = { staleAfterS: 10_800, graceS: 600 };
  const peer = (key: string, latestHandshake: number): WgPeer => ({
    key,
    endpoint: undefined,
    allowedIps: [],
    latestHandshake,
  });

  it("removes by handshake age and after the grace period, never static peers", () => {
    const decision = decideStale(
      [
        peer(a!, nowS - 10_801), // stale
        peer(b!, nowS - 100), // fresh
        peer(c!, 0), // never handshaked, installed 601 s ago
        peer(d!, 0), // never handshaked, unseen so far
        peer(s!, nowS - 99_999), // static: kept
      ],
      now,
      new Map([
        [c!, now - 601_000],
        [b!, now - 5000],
      ]),
      new Set([s!]),
      policy,
    );
    expect(decision.remove.map((r) => r.key)).toEqual([a, c]);
    expect(decision.remove[0]!.reason).toBe("stale: last handshake 10801 s ago (limit 10800 s)");
    expect(decision.remove[1]!.reason).toBe("stale: no handshake within 600 s of installation");
    expect(decision.firstSeen).toEqual([d]);
    expect(decision.forget).toEqual([b]);
  });

  it("keeps a peer within the grace period and at exactly the limit", () => {
    const decision = decideStale(
      [peer(a!, 0), peer(b!, nowS - 10_800)],
      now,
      new Map([[a!, now - 600_000]]),
      new Set(),
      policy,
    );
    expect(decision.remove).toEqual([]);
  });

  it("counts connected and live peers without static ones", () => {
    const peers = [peer(a!, nowS - 10), peer(b!, nowS - 181), peer(c!, 0), peer(s!, nowS - 1)];
    expect(recentPeers(peers, now, 180, new Set([s!]))).toEqual([a]);
    expect(recentPeers(peers, now, 10_800, new Set([s!]))).toEqual([a, b]);
  });
});

describe("backoff", () => {
  it("is full jitter under an exponential cap", () => {
    const o = { baseMs: 1000, maxMs: 60_000 };
    expect(backoffDelay(0, o, () => 0.999)).toBe(999);
    expect(backoffDelay(3, o, () => 0.5)).toBe(4000);
    expect(backoffDelay(10, o, () => 0.999)).toBe(59_940);
    expect(backoffDelay(1000, o, () => 0.999)).toBe(59_940);
    expect(backoffDelay(5, o, () => 0)).toBe(0);
    fc.assert(
      fc.property(fc.nat(100), fc.double({ min: 0, max: 0.9999999, noNaN: true }), (n, r) => {
        const v = backoffDelay(n, o, () => r);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(Math.min(60_000, 1000 * 2 ** n));
      }),
    );
  });
});
