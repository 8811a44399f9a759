import { describe, expect, it } from "vitest";
import { ConfigError, parseEdgeConfig } from "../src/config/schema.ts";

const base = { domains: ["ffmuc_welt"], domain_prefixes: ["ffmuc_"] };

describe("edge configuration", () => {
  it("fills defaults", () => {
    const c = parseEdgeConfig(base);
    expect(c.retention_hours).toBe(168);
    expect(c.limits.enabled).toBe(true);
    expect(c.limits.max_body_bytes).toBe(4096);
    expect(c.gateways).toEqual([]);
  });

  it("accepts JSON text as well as an object", () => {
    expect(parseEdgeConfig(JSON.stringify(base)).domains).toEqual(["ffmuc_welt"]);
  });

  const cases: Array<[string, unknown, string]> = [
    ["missing", undefined, "WGKEX_CONFIG: missing; define [vars.WGKEX_CONFIG] in wrangler.toml"],
    ["bad JSON", "{", "WGKEX_CONFIG: not valid JSON"],
    ["no domains", { ...base, domains: [] }, "domains: list at least one domain"],
    [
      "domain without prefix",
      { ...base, domains: ["ffmuc_welt", "other"] },
      'domains[1]: "other" starts with none of domain_prefixes',
    ],
    [
      "bad variant",
      { ...base, domain_settings: { ffmuc_welt: { variant: "x" } } },
      "domain_settings.ffmuc_welt.variant",
    ],
    [
      "settings for unknown domain",
      { ...base, domain_settings: { ffmuc_x: {} } },
      'domain_settings.ffmuc_x: settings for "ffmuc_x"',
    ],
    [
      "duplicate gateway",
      { ...base, gateways: [{ name: "gw01" }, { name: "gw01" }] },
      'gateways[1].name: gateway "gw01" is listed twice',
    ],
    ["bad gateway name", { ...base, gateways: [{ name: "GW 1" }] }, "gateways[0].name: must be 1-32 characters"],
    ["negative weight", { ...base, gateways: [{ name: "gw01", weight: -1 }] }, "gateways[0].weight"],
    [
      "gateway domain unknown",
      { ...base, gateways: [{ name: "gw01", domains: ["ffmuc_x"] }] },
      'gateways[0].domains[0]: "ffmuc_x" is not in domains',
    ],
    ["unknown field", { ...base, retention: 5 }, "retention"],
    [
      "an import placeholder left",
      { ...base, gateways: [{ name: "gw04" }, { name: "gw05", location: "CHANGE-ME" }] },
      "WGKEX_CONFIG invalid: gateways[1].location: is still the import-wgkex placeholder CHANGE-ME: replace it with the real value",
    ],
    ["limits typo", { ...base, limits: { per_kee: 1 } }, "limits"],
  ];
  it.each(cases)("names the field when %s", (_name, raw, message) => {
    expect(() => parseEdgeConfig(raw)).toThrow(ConfigError);
    expect(() => parseEdgeConfig(raw)).toThrow(message);
  });
});
