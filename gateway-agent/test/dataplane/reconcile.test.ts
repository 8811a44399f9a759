import { linkLocal } from "@wgkex-edge/shared";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { WgPeer } from "../../src/dataplane/observe.ts";
import { linkLocalLayout, planReconcile, repairedCounts } from "../../src/dataplane/reconcile.ts";
import { publicKeys } from "../../testing/index.ts";

describe("reconcile plan: the desired set against the host", () => {
  const [a, b, s, f, g, own] = publicKeys(6, 7) as [string, string, string, string, string, string];
  const ll = (k: string) => linkLocal(k, "wgkex");
  const peer = (key: string, allowed = [`${ll(key)}/128`]): WgPeer => ({
    key,
    endpoint: undefined,
    allowedIps: allowed,
    latestHandshake: 0,
  });
  const layout = linkLocalLayout({ variant: "wgkex", wireguard: "wg-x", ownAddress: "fe80::1" });
  const desired = (nodes: string[], ownKey?: string) => ({ nodes: new Set(nodes), staticKeys: new Set([s]), ownKey });
  const route = (k: string) => ({ dst: ll(k), protocol: undefined });
  const fdb = (k: string) => ({ mac: "00:00:00:00:00:00", dst: ll(k), via: "wg-x" });
  const empty = {
    installPeers: [],
    repairStatic: [],
    addRoutes: [],
    addFdb: [],
    delRoutes: [],
    delFdb: [],
    foreign: [],
  };

  it("is empty when everything is in place", () => {
    const plan = planReconcile(
      {
        dump: { publicKey: "p", listenPort: 1, peers: [peer(a), peer(s)] },
        routes: [{ dst: "fe80::1", protocol: "kernel" }, route(a), { dst: `${ll(s)}/128`, protocol: "boot" }],
        fdb: [fdb(a), fdb(s)],
      },
      desired([a]),
      layout,
    );
    expect(plan).toEqual(empty);
  });

  it("a desired peer missing from the kernel is installed again (peer, route, FDB entry), its route and FDB entry kept", () => {
    // `wg set … peer a remove` behind the agent's back: route and FDB entry are still there.
    const plan = planReconcile(
      {
        dump: { publicKey: "p", listenPort: 1, peers: [peer(s)] },
        routes: [route(a), route(s)],
        fdb: [fdb(a), fdb(s)],
      },
      desired([a]),
      layout,
    );
    expect(plan).toEqual({ ...empty, installPeers: [a] });
  });

  it("an interface recreated empty: every desired peer installed again, static peers set again", () => {
    const plan = planReconcile(
      { dump: { publicKey: "p", listenPort: 1, peers: [] }, routes: [], fdb: [] },
      desired([a, b]),
      layout,
    );
    expect(plan.installPeers).toEqual([a, b]);
    expect(plan.repairStatic).toEqual([s]);
    // The installs bring their routes and FDB entries; the static peer's come from here.
    expect(plan.addRoutes).toEqual([ll(s)]);
    expect(plan.addFdb).toEqual([ll(s)]);
  });

  it("a peer nobody asked for is never removed: listed as foreign; with its link-local /128 it gets route and FDB entry", () => {
    const plan = planReconcile(
      {
        dump: { publicKey: "p", listenPort: 1, peers: [peer(a), peer(s), peer(f), peer(g, ["10.0.0.0/24"])] },
        routes: [route(a), route(s)],
        fdb: [fdb(a), fdb(s)],
      },
      desired([a]),
      layout,
    );
    expect(plan).toEqual({ ...empty, foreign: [f, g], addRoutes: [ll(f)], addFdb: [ll(f)] });
  });

  it("an FDB flush is repaired for every peer that stays", () => {
    const plan = planReconcile(
      {
        dump: { publicKey: "p", listenPort: 1, peers: [peer(a), peer(b), peer(s)] },
        routes: [route(a), route(b), route(s)],
        fdb: [],
      },
      desired([a, b]),
      layout,
    );
    expect(plan).toEqual({ ...empty, addFdb: [ll(a), ll(b), ll(s)] });
  });

  it("repairs missing entries, removes our orphans, leaves foreign entries alone", () => {
    const plan = planReconcile(
      {
        dump: { publicKey: "p", listenPort: 1, peers: [peer(a), peer(b, []), peer(s, [])] },
        routes: [
          { dst: "fe80::1", protocol: "kernel" }, // kernel route of our own address
          { dst: "fe80::1", protocol: undefined }, // our own address: not an orphan
          { dst: "fe80::dead", protocol: undefined }, // orphan
          { dst: "fe80::/64", protocol: "kernel" }, // foreign
          { dst: "2001:db8::/64", protocol: undefined }, // foreign
          route(a),
        ],
        fdb: [
          fdb(a),
          { mac: "00:00:00:00:00:00", dst: "fe80::beef", via: "wg-x" }, // orphan
          { mac: "52:54:00:12:34:56", dst: "fe80::cafe", via: "wg-x" }, // learned: foreign
          { mac: "00:00:00:00:00:00", dst: "fe80::f00", via: "wg-other" }, // other interface: foreign
          { mac: "33:33:00:00:00:01", dst: undefined, via: undefined },
        ],
      },
      desired([a, b]),
      layout,
    );
    expect(plan.installPeers).toEqual([b]);
    expect(plan.repairStatic).toEqual([s]);
    expect(plan.addRoutes).toEqual([ll(s)]);
    expect(plan.addFdb).toEqual([ll(s)]);
    expect(plan.delRoutes).toEqual(["fe80::dead"]);
    expect(plan.delFdb).toEqual(["fe80::beef"]);
  });

  it("never installs the gateway's own key, even when the set holds it", () => {
    const plan = planReconcile(
      { dump: { publicKey: "p", listenPort: 1, peers: [peer(s)] }, routes: [route(s)], fdb: [fdb(s)] },
      desired([own], own),
      layout,
    );
    expect(plan).toEqual(empty);
  });

  it("whatever the host holds: no desired, static or installed peer is ever scheduled for removal, every missing desired one for install", () => {
    const keys = publicKeys(10, 70);
    const subset = fc.subarray(keys);
    fc.assert(
      fc.property(subset, subset, subset, subset, (wanted, installed, routed, withFdb) => {
        const plan = planReconcile(
          {
            dump: { publicKey: "p", listenPort: 1, peers: installed.map((k) => peer(k)) },
            routes: routed.map(route),
            fdb: withFdb.map(fdb),
          },
          { nodes: new Set(wanted), staticKeys: new Set() },
          layout,
        );
        expect(new Set(plan.installPeers)).toEqual(new Set(wanted.filter((k) => !installed.includes(k))));
        const keep = new Set([...wanted, ...installed].map(ll));
        for (const dst of [...plan.delRoutes, ...plan.delFdb]) expect(keep.has(dst)).toBe(false);
        expect(new Set(plan.foreign)).toEqual(new Set(installed.filter((k) => !wanted.includes(k))));
      }),
    );
  });
});

describe("what a reconcile repaired", () => {
  const [a, b] = publicKeys(2, 8);
  const plan = {
    installPeers: [a!],
    repairStatic: [b!],
    foreign: [],
    addRoutes: ["fe80::1", "fe80::2"],
    addFdb: ["fe80::1", "fe80::2"],
    delRoutes: ["fe80::dead"],
    delFdb: ["fe80::beef"],
  };

  it("counts everything planned when nothing failed", () => {
    expect(repairedCounts(plan, [])).toEqual({
      peer: 2,
      route_added: 2,
      fdb_added: 2,
      route_removed: 1,
      fdb_removed: 1,
    });
  });

  it("does not count what failed, per step (the program in the reason tells route from FDB)", () => {
    const failed = [
      { public_key: b!, reason: "wg: Unable to modify interface" },
      { public_key: "fe80::2", reason: 'bridge: Cannot find device "vx-x"' },
      { public_key: "fe80::dead", reason: "ip: RTNETLINK answers: Operation not permitted" },
    ];
    expect(repairedCounts(plan, failed)).toEqual({
      peer: 1,
      route_added: 2,
      fdb_added: 1,
      route_removed: 0,
      fdb_removed: 1,
    });
  });
});
