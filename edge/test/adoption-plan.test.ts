import { describe, expect, it } from "vitest";
import { parseAdoptionKind } from "../src/registry/adoption/adopter.ts";
import { usedInWindow } from "../src/registry/adoption/adoption-budget.ts";
import { type AdoptionFacts, planAdoption } from "../src/registry/adoption/adoption-plan.ts";
import { freshKey } from "./helpers.ts";

const facts = (over: Partial<AdoptionFacts> = {}): AdoptionFacts => ({
  enabled: true,
  gatewayKeys: new Set(),
  denied: () => false,
  active: () => false,
  gatewayRoom: 100,
  domainRoom: 100,
  ...over,
});

describe("planAdoption (pure): which reported keys become registrations", () => {
  it("accepts new keys, each once, in report order", () => {
    const [a, b] = [freshKey(), freshKey()];
    const plan = planAdoption([a, b, a], facts());
    expect(plan.accept).toEqual([a, b]);
    expect(plan.outcomes).toMatchObject({ accepted: 2, known: 0, limit: 0 });
  });

  it("refuses gateways' own keys (they are static peers of each other), denied keys, and takes known keys as known", () => {
    const [gw, denied, known, fresh] = [freshKey(), freshKey(), freshKey(), freshKey()];
    const plan = planAdoption(
      [gw, denied, known, fresh],
      facts({ gatewayKeys: new Set([gw]), denied: (k) => k === denied, active: (k) => k === known }),
    );
    expect(plan.accept).toEqual([fresh]);
    expect(plan.retire).toEqual([denied]);
    expect(plan.outcomes).toMatchObject({ accepted: 1, gateway_key: 1, denied: 1, known: 1 });
  });

  it("denied keys are retired from every gateway, within the same room as new keys (reporting them buys no extra writes)", () => {
    const denied = Array.from({ length: 4 }, freshKey);
    const fresh = freshKey();
    const isDenied = (k: string) => denied.includes(k);
    const plan = planAdoption([denied[0]!, fresh, ...denied.slice(1)], facts({ denied: isDenied, gatewayRoom: 3 }));
    expect(plan.accept).toEqual([fresh]);
    expect(plan.retire).toEqual([denied[0], denied[1]]);
    expect(plan.outcomes).toMatchObject({ accepted: 1, denied: 4, limit: 0 });
    // With adoption switched off a denied key still comes off the gateways.
    expect(planAdoption(denied, facts({ denied: isDenied, enabled: false })).retire).toEqual(denied);
    expect(planAdoption(denied, facts({ denied: isDenied, domainRoom: 0 })).retire).toEqual([]);
  });

  it("re-validates every key: anything but a canonical public key is invalid", () => {
    const good = freshKey();
    const plan = planAdoption([good, "nope", `${good}\n`, good.replace(/.=$/, "B=")], facts());
    expect(plan.accept).toEqual([good]);
    expect(plan.outcomes.invalid).toBe(3);
  });

  it("too many keys: takes what the smaller of the gateway's and the domain's room allows, refuses the rest", () => {
    const keys = Array.from({ length: 10 }, freshKey);
    const byGateway = planAdoption(keys, facts({ gatewayRoom: 4, domainRoom: 7 }));
    expect(byGateway.accept).toEqual(keys.slice(0, 4));
    expect(byGateway.overBudget).toEqual(keys.slice(4));
    expect(byGateway.outcomes).toMatchObject({ accepted: 4, limit: 6 });
    expect(planAdoption(keys, facts({ gatewayRoom: 9, domainRoom: 3 })).accept).toHaveLength(3);
    // A spent budget (even overspent) accepts nothing; known keys cost no budget.
    const known = new Set(keys.slice(0, 2));
    const spent = planAdoption(keys, facts({ gatewayRoom: -5, active: (k) => known.has(k) }));
    expect(spent.outcomes).toMatchObject({ accepted: 0, known: 2, limit: 8 });
  });

  it("adoption switched off: nothing is accepted, every new key is counted", () => {
    const plan = planAdoption([freshKey(), freshKey()], facts({ enabled: false }));
    expect(plan.outcomes).toMatchObject({ accepted: 0, disabled: 2 });
  });

  it("budget windows: a window counts until it ends, never before it began", () => {
    expect(usedInWindow(undefined, 1000, 100)).toBe(0);
    expect(usedInWindow({ window_start: 1000, used: 7 }, 1099, 100)).toBe(7);
    expect(usedInWindow({ window_start: 1000, used: 7 }, 1100, 100)).toBe(0);
    expect(usedInWindow({ window_start: 1000, used: 7 }, 999, 100)).toBe(0);
  });

  it("counter kinds round-trip per gateway and outcome", () => {
    expect(parseAdoptionKind("adoption:gateway_key:gw-01")).toEqual({ outcome: "gateway_key", gateway: "gw-01" });
    expect(parseAdoptionKind("adoption:bogus:gw01")).toBeUndefined();
    expect(parseAdoptionKind("new")).toBeUndefined();
  });
});
