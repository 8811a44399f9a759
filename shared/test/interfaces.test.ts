import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkInterfaceName,
  interfacesForDomain,
  interfacesForSuffix,
  MAX_INTERFACE_NAME_LENGTH,
} from "../src/index.ts";

describe("interface names", () => {
  it("derives the four names of a domain (wgkex-facts §3)", () => {
    expect(interfacesForDomain("ffmuc_welt", ["ffmuc_"])).toEqual({
      suffix: "welt",
      wireguard: "wg-welt",
      vxlan: "vx-welt",
      batman: "bat-welt",
      bridge: "br-welt",
    });
  });

  it("accepts the longest suffix that fits bat-<suffix> in 15 characters", () => {
    expect(interfacesForSuffix("a".repeat(11)).batman).toHaveLength(15);
  });

  it("names the interface, its length and the fix when a name is too long", () => {
    expect(() => interfacesForSuffix("a".repeat(12))).toThrow(
      /interface name "bat-aaaaaaaaaaaa" has 16 characters; Linux allows at most 15\. Use a shorter domain suffix/,
    );
  });

  it("refuses characters that Linux or our commands must not see", () => {
    for (const bad of ["we lt", "we/lt", "we:lt", "we.lt", "welt\n", "wélt", "a;b", "$(x)"]) {
      expect(() => interfacesForSuffix(bad), bad).toThrow(/may only contain/);
    }
    expect(() => interfacesForSuffix("")).toThrow(/empty/);
    expect(() => checkInterfaceName("")).toThrow(/empty/);
  });

  it("only ever returns names Linux accepts", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (suffix) => {
        try {
          const names = interfacesForSuffix(suffix);
          for (const name of [names.wireguard, names.vxlan, names.batman, names.bridge]) {
            expect(name.length).toBeLessThanOrEqual(MAX_INTERFACE_NAME_LENGTH);
            expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
          }
        } catch (error) {
          expect((error as Error).name).toBe("InterfaceNameError");
        }
      }),
    );
  });
});
