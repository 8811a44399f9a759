import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { domainSeedBytes, linkLocal, md5Hex, stableMac, vniFromDomainSeed } from "../src/index.ts";
import { arbitraryPublicKey } from "./arbitraries.ts";
import vectors from "./fixtures/vectors.json" with { type: "json" };

describe("linkLocal", () => {
  it.each(vectors.lladdr)("derives both variants for $public_key", (v) => {
    expect(linkLocal(v.public_key, "wgkex")).toBe(v.wgkex);
    expect(linkLocal(v.public_key, "gluon")).toBe(v.gluon);
  });

  it("defaults to the wgkex variant", () => {
    const v = vectors.lladdr[0]!;
    expect(linkLocal(v.public_key)).toBe(v.wgkex);
  });

  it("always gives fe80::/64 with the 02..:..ff:fe.. shape, for every key", () => {
    const shape = /^fe80::2[0-9a-f]{0,2}:[0-9a-f]{0,2}ff:fe[0-9a-f]{0,2}:[0-9a-f]{1,4}$/;
    fc.assert(
      fc.property(arbitraryPublicKey, fc.constantFrom("wgkex" as const, "gluon" as const), (key, variant) => {
        const ll = linkLocal(key, variant);
        expect(ll).toMatch(shape);
        const groups = ll
          .slice("fe80::".length)
          .split(":")
          .map((g) => Number.parseInt(g, 16));
        expect(groups).toHaveLength(4);
        expect(groups[0]! >> 8).toBe(0x02);
        expect(groups[1]! & 0xff).toBe(0xff);
        expect(groups[2]! >> 8).toBe(0xfe);
        // Canonical text: no leading zeros in any group.
        for (const g of ll.slice(6).split(":")) expect(g === "0" || !g.startsWith("0")).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("gives different addresses for the two variants", () => {
    fc.assert(fc.property(arbitraryPublicKey, (key) => linkLocal(key, "wgkex") !== linkLocal(key, "gluon")));
  });
});

describe("stableMac", () => {
  it("is deterministic, locally administered and unicast", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const mac = stableMac(text);
        expect(mac).toMatch(/^02(:[0-9a-f]{2}){5}$/);
        expect(stableMac(text)).toBe(mac);
      }),
    );
    expect(stableMac("a")).not.toBe(stableMac("b"));
    expect(stableMac("")).toBe("02:d4:1d:8c:d9:8f");
  });
});

describe("md5", () => {
  it("matches RFC 1321 test values", () => {
    expect(md5Hex("")).toBe("d41d8cd98f00b204e9800998ecf8427e");
    expect(md5Hex("abc")).toBe("900150983cd24fb0d6963f7d28e17f72");
    expect(md5Hex("message digest")).toBe("f96b697d7cb7938d525a2f31aaf161d0");
  });
});

describe("VNI from domain seed", () => {
  it.each(vectors.vni)("derives $domain", (v) => {
    expect(vniFromDomainSeed(v.domain_seed, "wgkex")).toBe(v.wgkex);
    expect(vniFromDomainSeed(v.domain_seed, "gluon")).toBe(v.gluon);
  });

  it("ignores the case of the seed, as Gluon lowercases it", () => {
    const v = vectors.vni[0]!;
    expect(vniFromDomainSeed(v.domain_seed.toUpperCase(), "wgkex")).toBe(v.wgkex);
  });

  it("extends the md5 chain past one block like Gluon's domain_seed_bytes", () => {
    const seed = vectors.vni[0]!.domain_seed;
    const first = md5Hex(`k${seed}1`);
    const second = md5Hex(`${first}k${seed}2`);
    expect(domainSeedBytes("k", seed, 20)).toBe((first + second).slice(0, 40));
  });

  it("rejects a seed that is not 64 hex characters", () => {
    expect(() => vniFromDomainSeed("abc")).toThrow(/64 hexadecimal/);
    expect(() => vniFromDomainSeed("g".repeat(64))).toThrow(/64 hexadecimal/);
  });

  it("always yields a 24-bit id", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{64}$/), (seed) => {
        const vni = vniFromDomainSeed(seed);
        return Number.isInteger(vni) && vni >= 0 && vni <= 0xffffff;
      }),
    );
  });
});
