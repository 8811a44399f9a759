import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { domainSuffix, isAllowedDomain, matchingPrefix } from "../src/index.ts";

const rules = { domains: ["ffmuc_welt", "ffmuc_muc_cty", "other_x"], domain_prefixes: ["ffmuc_"] };

describe("domain rule (wgkex-facts §1)", () => {
  it("accepts a listed domain with a configured prefix", () => {
    expect(isAllowedDomain("ffmuc_welt", rules)).toBe(true);
    expect(isAllowedDomain("ffmuc_muc_cty", rules)).toBe(true);
  });

  it("rejects a listed domain without a configured prefix", () => {
    expect(isAllowedDomain("other_x", rules)).toBe(false);
  });

  it("rejects an unlisted domain even with the prefix", () => {
    expect(isAllowedDomain("ffmuc_nowhere", rules)).toBe(false);
    expect(isAllowedDomain("ffmuc_", rules)).toBe(false);
  });

  it("rejects non-strings and near misses", () => {
    for (const d of [undefined, null, 1, ["ffmuc_welt"], { d: 1 }, "FFMUC_WELT", " ffmuc_welt", "ffmuc_welt\n"]) {
      expect(isAllowedDomain(d, rules)).toBe(false);
    }
  });

  it("accepts nothing outside the list, whatever the string", () => {
    fc.assert(fc.property(fc.string(), (d) => isAllowedDomain(d, rules) === rules.domains.slice(0, 2).includes(d)));
  });

  it("strips the longest matching prefix for the suffix", () => {
    expect(matchingPrefix("ffmuc_muc_cty", ["ffmuc_", "ffmuc_muc_"])).toBe("ffmuc_muc_");
    expect(domainSuffix("ffmuc_welt", ["ffmuc_"])).toBe("welt");
    expect(domainSuffix("ffmuc_muc_cty", ["ffmuc_"])).toBe("muc_cty");
    expect(() => domainSuffix("x_y", ["ffmuc_"])).toThrow(/none of the prefixes/);
  });
});
