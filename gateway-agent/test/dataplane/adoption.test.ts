import { linkLocal } from "@wgkex-edge/shared";
import { describe, expect, it } from "vitest";
import { type AdoptionContext, planAdoption } from "../../src/dataplane/adoption.ts";
import type { WgPeer } from "../../src/dataplane/observe.ts";
import { publicKeys } from "../../testing/index.ts";

const NOW = 1_800_000_000_000;
const S = NOW / 1000;
const policy = { staleAfterS: 10_800, maxReport: 5000 };

/** A peer as wgkex's worker installs a node: allowed-ips its own link-local /128. */
const node = (key: string, handshakeAgoS: number | null): WgPeer => ({
  key,
  endpoint: undefined,
  allowedIps: [`${linkLocal(key, "wgkex")}/128`],
  latestHandshake: handshakeAgoS === null ? 0 : S - handshakeAgoS,
});

const context = (over: Partial<AdoptionContext> = {}): AdoptionContext => ({
  variant: "wgkex",
  staticKeys: new Set(),
  ownKey: undefined,
  edge: new Set(),
  adopted: new Set(),
  ...over,
});

describe("adoption rules (pure)", () => {
  it("live vs stale: a recent handshake is adopted and reported; stale and never-handshaked peers are left to the cleanup", () => {
    const [live, edgeOfWindow, stale, never] = publicKeys(4, 301);
    const plan = planAdoption(
      [node(live!, 30), node(edgeOfWindow!, 10_800), node(stale!, 10_801), node(never!, null)],
      NOW,
      context(),
      policy,
    );
    expect(plan.adopt).toEqual([live, edgeOfWindow]);
    expect(plan.report).toEqual([live, edgeOfWindow]);
    expect(plan.skipped).toEqual({ stale: [stale], never: [never], notNode: [], invalid: [] });
  });

  it("static peers, other gateways' keys and the own key are never adopted, whatever their handshake", () => {
    const [other, own, n] = publicKeys(3, 302);
    const plan = planAdoption(
      [node(other!, 5), node(own!, 5), node(n!, 5)],
      NOW,
      context({ staticKeys: new Set([other!]), ownKey: own }),
      policy,
    );
    expect(plan.adopt).toEqual([n]);
  });

  it("another gateway peered without a static_peers entry: its allowed-ips are not a node's own /128, so it is kept, not adopted", () => {
    const [gw, byHand] = publicKeys(2, 303);
    const plan = planAdoption(
      [
        {
          key: gw!,
          endpoint: "192.0.2.5:40011",
          allowedIps: [`${linkLocal(gw!, "wgkex")}/128`, "10.0.0.0/8"],
          latestHandshake: S - 5,
        },
        { key: byHand!, endpoint: undefined, allowedIps: ["fe80::1/128"], latestHandshake: S - 5 },
      ],
      NOW,
      context(),
      policy,
    );
    expect(plan.adopt).toEqual([]);
    expect(plan.skipped.notNode).toEqual([gw, byHand]);
  });

  it("the address variant decides what a node's /128 is", () => {
    const [k] = publicKeys(1, 304);
    const gluon: WgPeer = { ...node(k!, 5), allowedIps: [`${linkLocal(k!, "gluon")}/128`] };
    expect(planAdoption([gluon], NOW, context(), policy).adopt).toEqual([]);
    expect(planAdoption([gluon], NOW, context({ variant: "gluon" }), policy).adopt).toEqual([k]);
  });

  it("a report with invalid keys: they are never adopted or reported", () => {
    const [good] = publicKeys(1, 305);
    const bad = `${good!.slice(0, 42)}B=`; // a non-canonical last digit
    const plan = planAdoption(
      [node(good!, 5), { ...node(good!, 5), key: bad }, { ...node(good!, 5), key: "x" }],
      NOW,
      context(),
      policy,
    );
    expect(plan.adopt).toEqual([good]);
    expect(plan.skipped.invalid).toEqual([bad, "x"]);
    // Even a corrupt adopted set (hand-edited state) reports only valid keys.
    expect(planAdoption([], NOW, context({ adopted: new Set([bad, good!]) }), policy).report).toEqual([good]);
  });

  it("adopted keys are reported again until the edge sends them back; the edge's own keys are not foreign", () => {
    const [a, b, c] = publicKeys(3, 306);
    const plan = planAdoption(
      [node(a!, 5), node(b!, 5), node(c!, 5)],
      NOW,
      context({ adopted: new Set([a!, b!]), edge: new Set([b!]) }),
      policy,
    );
    expect(plan.adopt).toEqual([c]);
    expect(plan.report).toEqual([c, a]);
  });

  it("too many keys: every live peer is adopted (kept), at most maxReport reported per pass, new ones first", () => {
    const keys = publicKeys(2500, 307);
    const earlier = publicKeys(10, 308);
    const plan = planAdoption(
      keys.map((k) => node(k, 60)),
      NOW,
      context({ adopted: new Set(earlier) }),
      { ...policy, maxReport: 2000 },
    );
    expect(plan.adopt).toHaveLength(2500);
    expect(plan.report).toEqual(keys.slice(0, 2000));
    const next = planAdoption(
      keys.map((k) => node(k, 60)),
      NOW,
      context({ adopted: new Set([...earlier, ...keys]), edge: new Set(keys.slice(0, 2000)) }),
      { ...policy, maxReport: 2000 },
    );
    expect(next.adopt).toEqual([]);
    expect(next.report).toEqual([...earlier, ...keys.slice(2000)]);
  });
});
