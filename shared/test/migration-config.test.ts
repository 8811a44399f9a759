import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { externalAddressProblem, findPlaceholders, isExternalAddress } from "../src/index.ts";

describe("external address: a DNS name, for FFMUC's Gluon client", () => {
  it.each(["gw04.ext.ffmuc.net", "gw04.ext.ffmuc.net.", "localhost", "gw-1.example", "a.b2c"])("accepts %s", (name) => {
    expect(externalAddressProblem(name)).toBeUndefined();
  });

  it.each([
    ["10.213.1.1", /not an IPv4 address .*nslookup/],
    ["192.168.0.1.", /not an IPv4 address/],
    ["2001:db8::1", /not an IPv6 address .*nslookup/],
    ["[2001:db8::1]", /not an IPv6 address/],
    ["gw04.ext.ffmuc.net:40011", /host:port/],
    ["", /public DNS name/],
    ["gw_04.example.net", /"gw_04" is not a DNS label/],
    ["-gw.example.net", /"-gw" is not a DNS label/],
    ["gw..example", /"" is not a DNS label/],
    [`${"a".repeat(64)}.example`, /is not a DNS label/],
    ["1.2.3.4444", /not an IPv4 address/],
  ])("refuses %s with the reason", (value, reason) => {
    expect(externalAddressProblem(value)).toMatch(reason);
  });

  it("never accepts anything an IP parser would take as an address", () => {
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join("."));
    fc.assert(fc.property(fc.oneof(v4, fc.ipV6()), (ip) => !isExternalAddress(ip)));
  });
});

describe("import placeholders", () => {
  it("finds every string and key still holding CHANGE-ME, with its path", () => {
    const found = findPlaceholders({
      edge: { url: "https://CHANGE-ME.example", token_file: "/etc/token" },
      external_address: "CHANGE-ME",
      domains: { ffmuc_welt: { listen_port: "CHANGE-ME", static_peers: [{ name: "gw05", public_key: "change-me" }] } },
      fine: ["a", 1, null, true],
    });
    expect(found.map((f) => f.path)).toEqual([
      "edge.url",
      "external_address",
      "domains.ffmuc_welt.listen_port",
      "domains.ffmuc_welt.static_peers[0].public_key",
    ]);
    expect(findPlaceholders({ gateways: [{ name: "gw01" }] })).toEqual([]);
  });
});
