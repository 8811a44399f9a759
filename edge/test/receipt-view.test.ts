import { describe, expect, it } from "vitest";
import { gatewayConfigSchema } from "../src/config/schema.ts";
import type { RegistrationRow } from "../src/registry/log/registrations-table.ts";
import { buildReceipt } from "../src/registry/views/receipt.ts";

const served = ["gw01", "gw02", "gw03"].map((name) => gatewayConfigSchema.parse({ name }));
const T = Date.UTC(2026, 0, 1);
const row = (fields: Partial<RegistrationRow> = {}): RegistrationRow => ({
  public_key: "K",
  seq: 7,
  target: "*",
  first_registered_at: T,
  registered_at: T + 1000,
  live_at: null,
  removed_at: null,
  removed_reason: null,
  allowed_ips: null,
  adopted_by: null,
  adopted_at: null,
  ...fields,
});
const states = (r: ReturnType<typeof buildReceipt>) => Object.fromEntries(r.gateways.map((g) => [g.name, g.state]));

describe("buildReceipt (pure)", () => {
  it("says installed once a gateway acknowledged the key's seq, pending before", () => {
    const r = buildReceipt({ domain: "d", row: row(), served, events: [], installedAt: new Map([["gw02", T + 5]]) });
    expect(states(r)).toEqual({ gw01: "pending", gw02: "installed", gw03: "pending" });
    expect(r.gateways[1]).toEqual({
      name: "gw02",
      state: "installed",
      at: new Date(T + 5).toISOString(),
      reason: null,
    });
    expect(r).toMatchObject({ domain: "d", public_key: "K", state: "active", seq: 7, target: "*" });
    expect(r.registered_at).toBe(new Date(T).toISOString());
    expect(r.last_registered_at).toBe(new Date(T + 1000).toISOString());
  });

  it("shows the origin: registered by a node, or adopted from a gateway (which, when)", () => {
    const registered = buildReceipt({ domain: "d", row: row(), served, events: [], installedAt: new Map() });
    expect(registered.origin).toEqual({ type: "registration" });
    const adopted = buildReceipt({
      domain: "d",
      row: row({ adopted_by: "gw02", adopted_at: T + 2000 }),
      served,
      events: [],
      installedAt: new Map(),
    });
    expect(adopted.origin).toEqual({ type: "adopted", gateway: "gw02", at: new Date(T + 2000).toISOString() });
  });

  it("lists only the v2 target of an active key, every gateway of a removed one", () => {
    const target = buildReceipt({
      domain: "d",
      row: row({ target: "gw03" }),
      served,
      events: [],
      installedAt: new Map(),
    });
    expect(target.gateways.map((g) => g.name)).toEqual(["gw03"]);
    const removed = buildReceipt({
      domain: "d",
      row: row({ target: "gw03", removed_at: T + 9, removed_reason: "retention" }),
      served,
      events: [],
      installedAt: new Map([["gw01", T + 2]]),
    });
    expect(removed.state).toBe("removed");
    expect(removed.gateways.map((g) => [g.name, g.state, g.reason])).toEqual([
      ["gw01", "removed", "retention"],
      ["gw02", "removed", "retention"],
      ["gw03", "removed", "retention"],
    ]);
  });

  it("lets an agent's report win over its ack", () => {
    const r = buildReceipt({
      domain: "d",
      row: row(),
      served,
      events: [{ gateway: "gw01", kind: "failed", reason: "wg: exit status 1", at: T + 3, seq: 7 }],
      installedAt: new Map([["gw01", T + 2]]),
    });
    expect(r.gateways[0]).toEqual({
      name: "gw01",
      state: "failed",
      at: new Date(T + 3).toISOString(),
      reason: "wg: exit status 1",
    });
  });
});
