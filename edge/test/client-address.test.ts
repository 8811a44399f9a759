import { describe, expect, it } from "vitest";
import { clientKey, expandIPv6 } from "../src/http/client-address.ts";

describe("client address key", () => {
  it("keeps IPv4 addresses", () => {
    expect(clientKey("192.0.2.7")).toBe("192.0.2.7");
  });

  it("aggregates IPv6 to the /64", () => {
    expect(clientKey("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8:1:2::1")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:DB8:1:2:ffff::")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientKey("2001:db8:0:2:a::1")).toBe(clientKey("2001:db8:0:2:b::2"));
    expect(clientKey("2001:db8:0:2::1")).not.toBe(clientKey("2001:db8:0:3::1"));
  });

  it("treats IPv4-mapped addresses as IPv4", () => {
    expect(clientKey("::ffff:192.0.2.1")).toBe("192.0.2.1");
  });

  it("expands every valid IPv6 form and refuses invalid ones", () => {
    expect(expandIPv6("::")).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(expandIPv6("::1")).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(expandIPv6("fe80::1%eth0")).toEqual([0xfe80, 0, 0, 0, 0, 0, 0, 1]);
    expect(expandIPv6("1:2:3:4:5:6:7:8")).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const bad of ["1::2::3", "1:2:3", "12345::", "g::1", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::8"]) {
      expect(expandIPv6(bad), bad).toBeUndefined();
    }
  });

  it("falls back to a fixed key without an address", () => {
    expect(clientKey(null)).toBe("unknown");
    expect(clientKey("")).toBe("unknown");
  });
});
