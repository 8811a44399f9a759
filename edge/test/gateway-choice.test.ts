import { describe, expect, it } from "vitest";
import { chooseGateway, type GatewayCandidate } from "../src/selection/gateway-choice.ts";

/** A candidate as wgkex sees it: per-domain counts, load summed over domains. */
function gw(
  name: string,
  counts: Record<string, number>,
  domain = "d1",
  extra: Partial<GatewayCandidate> = {},
): GatewayCandidate {
  return {
    name,
    weight: 1,
    drain: false,
    online: true,
    connected: counts[domain],
    load: Object.values(counts).reduce((a, b) => a + b, 0),
    ...extra,
  };
}

describe("wgkex's vectors (wgkex-facts §4)", () => {
  it("no weights: g1=20, g2=19 -> g2", () => {
    expect(chooseGateway([gw("g1", { d1: 20 }), gw("g2", { d1: 19 })]).gateway).toBe("g2");
  });

  it("cross-domain load: g1 {d1:25,d2:5}, g2 {d1:20,d2:20}, asking for d1 -> g1", () => {
    expect(chooseGateway([gw("g1", { d1: 25, d2: 5 }), gw("g2", { d1: 20, d2: 20 })]).gateway).toBe("g1");
  });

  it("weights 84/42 with g1=21, g2=19 -> g1", () => {
    const choice = chooseGateway([
      gw("g1", { d1: 21 }, "d1", { weight: 84 }),
      gw("g2", { d1: 19 }, "d1", { weight: 42 }),
    ]);
    expect(choice.gateway).toBe("g1");
  });

  it("ties go to the first seen", () => {
    expect(chooseGateway([gw("g1", { d1: 5 }), gw("g2", { d1: 5 })]).gateway).toBe("g1");
    expect(chooseGateway([gw("g2", { d1: 5 }), gw("g1", { d1: 5 })]).gateway).toBe("g2");
  });
});

describe("eligibility", () => {
  it("needs the gateway online with a reported count", () => {
    expect(chooseGateway([gw("g1", { d1: 0 }, "d1", { online: false })])).toEqual({
      gateway: undefined,
      reason: "none-online",
    });
    expect(chooseGateway([gw("g1", { d2: 3 })]).gateway).toBeUndefined();
    expect(chooseGateway([]).gateway).toBeUndefined();
  });

  it("does not let an offline gateway's stale load inflate the total (wgkex's flaw)", () => {
    // wgkex: total = 10+10+1000, rel = 1/3 each: g1 10-340, g2 10-340 -> tie, g1.
    // With weights 1/1/4 and g3 offline wgkex would push everything to g1 or g2 alike; the
    // difference shows with unequal weights among the online ones:
    const pool = [
      gw("g1", { d1: 30 }, "d1", { weight: 1 }),
      gw("g2", { d1: 40 }, "d1", { weight: 3 }),
      gw("g3", { d1: 1000 }, "d1", { online: false }),
    ];
    // Online only: total 70, shares 1/4 and 3/4: g1 30-17.5=12.5, g2 40-52.5=-12.5 -> g2.
    expect(chooseGateway(pool).gateway).toBe("g2");
  });
});

describe("extensions", () => {
  it("sticks to the node's previous gateway while it is fine, even above its fair share", () => {
    const pool = [gw("g1", { d1: 100 }), gw("g2", { d1: 0 })];
    expect(chooseGateway(pool, { previous: "g1" })).toEqual({ gateway: "g1", reason: "sticky" });
  });

  it("moves the node when its previous gateway is offline or draining", () => {
    expect(
      chooseGateway([gw("g1", { d1: 0 }, "d1", { online: false }), gw("g2", { d1: 9 })], { previous: "g1" }).gateway,
    ).toBe("g2");
    expect(
      chooseGateway([gw("g1", { d1: 0 }, "d1", { drain: true }), gw("g2", { d1: 9 })], { previous: "g1" }).gateway,
    ).toBe("g2");
  });

  it("prefers the requested location, falling back to all gateways", () => {
    const pool = [gw("g1", { d1: 0 }, "d1", { location: "fra" }), gw("g2", { d1: 50 }, "d1", { location: "muc" })];
    expect(chooseGateway(pool, { location: "muc" })).toEqual({ gateway: "g2", reason: "location" });
    expect(chooseGateway(pool, { location: "ber" })).toEqual({ gateway: "g1", reason: "least-load" });
  });

  it("never sends new nodes to a draining gateway", () => {
    const pool = [gw("g1", { d1: 0 }, "d1", { drain: true }), gw("g2", { d1: 500 })];
    expect(chooseGateway(pool).gateway).toBe("g2");
    expect(chooseGateway([pool[0]!]).gateway).toBeUndefined();
  });

  it("skips gateways at their cap", () => {
    const pool = [gw("g1", { d1: 10, d2: 10 }, "d1", { cap: 20 }), gw("g2", { d1: 500 })];
    expect(chooseGateway(pool).gateway).toBe("g2");
    expect(chooseGateway([gw("g1", { d1: 19 }, "d1", { cap: 20 }), gw("g2", { d1: 500 })]).gateway).toBe("g1");
  });
});
