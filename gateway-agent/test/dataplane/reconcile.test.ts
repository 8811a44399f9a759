import { linkLocal } from "@wgkex-edge/shared";
import { describe, expect, it } from "vitest";
import type { WgPeer } from "../../src/dataplane/observe.ts";
import { planReconcile, repairedCounts } from "../../src/dataplane/reconcile.ts";
import { publicKeys } from "../../testing/index.ts";

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

describe("what a reconcile repaired", () => {
  const [a, b] = publicKeys(2, 8);
  const plan = {
    repairPeers: [a!, b!],
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
