import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addressesFor,
  canonicalAddress,
  formatAddress,
  formatPrefix,
  isUsableIndex,
  layoutCapacity,
  type ParkerLayout,
  parseAddress,
  parsePrefix,
  prefixOf,
  subnet,
} from "../src/parker/index.ts";
import vectors from "../testing/parker-vectors.json" with { type: "json" };

const prefix = prefixOf;

describe("addresses as ip prints them (RFC 5952, glibc inet_ntop)", () => {
  it.each([
    ["2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // first of two equal runs
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // a single zero group stays
    ["2001:db8::0:1", "2001:db8::1"],
    ["fe80:0:0:0:0:0:0:1", "fe80::1"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["::ffff:c000:0201", "::ffff:192.0.2.1"],
    ["::ffff:192.0.2.1", "::ffff:192.0.2.1"],
    ["2001:bf7:381:001e::", "2001:bf7:381:1e::"],
    ["10.0.120.1", "10.0.120.1"],
  ])("%s → %s", (input, canonical) => {
    expect(canonicalAddress(input)).toBe(canonical);
  });

  it.each(["", "1.2.3", "1.2.3.256", "01.2.3.4", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::1", "::1.2.3"])(
    "refuses %j",
    (text) => {
      expect(parseAddress(text)).toBeUndefined();
    },
  );

  it("is a fixed point: formatting what it parsed gives the same value and the same text again", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (value) => {
        const text = formatAddress({ family: 6, value });
        expect(parseAddress(text)).toEqual({ family: 6, value });
        expect(canonicalAddress(text)).toBe(text);
        expect(text).toBe(text.toLowerCase());
        expect(text.split("::").length).toBeLessThanOrEqual(2);
      }),
      { numRuns: 500 },
    );
  });

  it("parses prefixes with their length and names host bits", () => {
    expect(formatPrefix(prefix("2001:DB8:ED0::/56"))).toBe("2001:db8:ed0::/56");
    expect(parsePrefix("10.0.0.1/8")).toEqual({
      ok: false,
      reason: '"10.0.0.1/8" has host bits set; did you mean 10.0.0.0/8?',
    });
    expect(parsePrefix("10.0.0.0")).toMatchObject({ ok: false });
    expect(parsePrefix("10.0.0.0/33")).toMatchObject({ ok: false });
    expect(formatPrefix(subnet(prefix("2001:db8:ed0::/56"), 63, 1))).toBe("2001:db8:ed0:2::/63");
    expect(() => subnet(prefix("10.0.0.0/24"), 26, 4)).toThrow(RangeError);
  });
});

describe("layouts (parker-facts §3.1, §3.2)", () => {
  const f = vectors.ffbs_addresses;
  const ffbs: ParkerLayout = {
    ipv6: { pool: prefix(f.ipv6_pool), length: f.ipv6_length },
    ipv4: { pool: prefix(f.ipv4_pool), length: f.ipv4_length },
    xlat: false,
    firstIndex: 0,
  };

  it.each(f.ids)("FF Braunschweig's id $id gives etcd-tools' addresses", (v) => {
    const a = addressesFor(ffbs, v.id);
    expect(a).toEqual({
      range4: v.range4,
      address4: v.address4,
      range6: v.range6,
      address6: v.address6,
      routes: [v.range6, v.range4],
    });
  });

  it("holds etcd-tools' 16,384 nodes, and one fewer when index 0 is kept back", () => {
    expect(layoutCapacity(ffbs)).toBe(f.max_nodes);
    expect(layoutCapacity({ ...ffbs, firstIndex: 1 })).toBe(f.max_nodes - 1);
    expect(isUsableIndex(ffbs, 16383)).toBe(true);
    expect(isUsableIndex(ffbs, 16384)).toBe(false);
    expect(() => addressesFor(ffbs, 16384)).toThrow(RangeError);
  });

  it("gives wgkex's 464XLAT layout: /63 per node, range6 + xlat_range6, one shared IPv4 subnet", () => {
    const l = vectors.wgkex_answer.layout;
    const xlat: ParkerLayout = {
      ipv6: { pool: prefix(l.ipv6_pool), length: l.ipv6_length },
      ipv4: { shared: prefix(l.ipv4_shared) },
      xlat: true,
      firstIndex: 1,
    };
    expect(addressesFor(xlat, 1)).toEqual({
      range6: "2001:db8:ed0:2::/64",
      address6: "2001:db8:ed0:2::1",
      xlat_range6: "2001:db8:ed0:3::/64",
      range4: "10.80.96.0/22",
      address4: "10.80.96.1",
      routes: ["2001:db8:ed0:2::/63"],
    });
    // A /56 holds 128 /63s; wgkex keeps the first back: 127 nodes (parker-facts §3.1).
    expect(layoutCapacity(xlat)).toBe(127);
    expect(addressesFor(xlat, 127).range6).toBe("2001:db8:ed0:fe::/64");
  });

  it("gives every index its own, non-overlapping ranges", () => {
    const small: ParkerLayout = {
      ipv6: { pool: prefix("2001:db8::/56"), length: 64 },
      ipv4: { pool: prefix("10.0.0.0/16"), length: 24 },
      xlat: false,
      firstIndex: 1,
    };
    const seen = new Set<string>();
    for (let i = 1; i <= layoutCapacity(small); i++) {
      const a = addressesFor(small, i);
      expect(seen.has(a.range4) || seen.has(a.range6)).toBe(false);
      seen.add(a.range4);
      seen.add(a.range6);
    }
    expect(layoutCapacity(small)).toBe(255);
  });
});
