import { layoutCapacity } from "@wgkex-edge/shared/parker";
import { describe, expect, it } from "vitest";
import { parkerLayout } from "../src/config/parker.ts";
import { ConfigError, parseEdgeConfig } from "../src/config/schema.ts";

const PUBLIC_KEY = "RWQxMjM0NTY3OAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";
const parker = {
  domain: "ffbs_parker",
  public_key: PUBLIC_KEY,
  ipv6: { pool: "2001:bf7:381::/48", length: 64 },
  ipv4: { pool: "10.0.0.0/8", length: 22 },
};
const base = {
  domains: ["ffbs_parker"],
  domain_prefixes: ["ffbs_"],
  gateways: [
    { name: "gw01", parker: { id: 1, endpoint6: "2001:db8::1", endpoint4: "198.51.100.1" } },
    { name: "gw02", parker: { id: 2, endpoint4: "198.51.100.2" } },
  ],
  parker,
};

describe("the parker section of WGKEX_CONFIG", () => {
  it("fills defaults and describes FF Braunschweig's layout", () => {
    const config = parseEdgeConfig(base);
    expect(config.parker).toMatchObject({
      answer_format: "ffbs",
      xlat: false,
      first_index: 1,
      retry_s: 120,
      wg_keepalive: 25,
      mtu: { max: 1375, min: 1280, overhead: 80 },
      sticky_tolerance_percent: 10,
      limits: { new_per_source: 5, new_per_hour: 120, max_unconfirmed_percent: 10, backoff_retry_s: 3600 },
      expiry: { unconfirmed_h: 2, idle_days: 60 },
      pool_alarm_percent: 90,
    });
    expect(layoutCapacity(parkerLayout(config.parker!))).toBe(16383);
  });

  it("accepts wgkex's 464XLAT layout", () => {
    const config = parseEdgeConfig({
      ...base,
      parker: {
        ...parker,
        xlat: true,
        ipv6: { pool: "2001:db8:ed0::/56", length: 63 },
        ipv4: { shared: "10.80.96.0/22" },
      },
    });
    expect(layoutCapacity(parkerLayout(config.parker!))).toBe(127);
  });

  const cases: Array<[string, unknown, string]> = [
    [
      "unknown domain",
      { ...base, parker: { ...parker, domain: "ffbs_x" } },
      'parker.domain: "ffbs_x" is not in domains',
    ],
    [
      "raw key as public key",
      { ...base, parker: { ...parker, public_key: "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=" } },
      "parker.public_key: not a signify public key",
    ],
    [
      "host bits",
      { ...base, parker: { ...parker, ipv6: { pool: "2001:bf7:381::1/48", length: 64 } } },
      'parker.ipv6.pool: "2001:bf7:381::1/48" has host bits set; did you mean 2001:bf7:381::/48?',
    ],
    [
      "IPv4 pool for IPv6",
      { ...base, parker: { ...parker, ipv6: { pool: "10.0.0.0/8", length: 64 } } },
      'parker.ipv6.pool: "10.0.0.0/8" is not an IPv6 prefix',
    ],
    [
      "/63 without xlat",
      { ...base, parker: { ...parker, ipv6: { pool: "2001:bf7:381::/48", length: 63 } } },
      "parker.ipv6.length: without xlat every node gets one /64",
    ],
    ["/64 with xlat", { ...base, parker: { ...parker, xlat: true } }, "parker.ipv6.length: 464XLAT needs two /64s"],
    [
      "node length shorter than pool",
      { ...base, parker: { ...parker, ipv4: { pool: "10.0.0.0/8", length: 6 } } },
      "parker.ipv4.length: /6 is shorter than the pool",
    ],
    [
      "no room",
      { ...base, parker: { ...parker, ipv4: { pool: "10.0.0.0/22", length: 22 } } },
      "parker.first_index: leaves no allocation in the pools",
    ],
    ["expiry typo", { ...base, parker: { ...parker, expiry: { idle_day: 3 } } }, "parker.expiry"],
    ["bad date", { ...base, parker: { ...parker, key_not_after: "next year" } }, "parker.key_not_after"],
    [
      "gateway without parker",
      { ...base, gateways: [{ name: "gw01" }] },
      'gateways[0].parker: gateway "gw01" serves the Parker domain ffbs_parker',
    ],
    [
      "duplicate id",
      { ...base, gateways: [base.gateways[0], { name: "gw02", parker: { id: 1, endpoint4: "198.51.100.2" } }] },
      'gateways[1].parker.id: id 1 is also "gw01"\'s',
    ],
    [
      "id 0",
      { ...base, gateways: [{ name: "gw01", parker: { id: 0, endpoint4: "198.51.100.2" } }] },
      "gateways[0].parker.id",
    ],
    [
      "no endpoint",
      { ...base, gateways: [{ name: "gw01", parker: { id: 1 } }] },
      "gateways[0].parker: needs endpoint4, endpoint6 or both",
    ],
    [
      "host name endpoint",
      { ...base, gateways: [{ name: "gw01", parker: { id: 1, endpoint4: "gw01.example.net" } }] },
      "gateways[0].parker.endpoint4: must be an IPv4 address (a literal",
    ],
  ];
  it.each(cases)("names the field: %s", (_name, raw, message) => {
    expect(() => parseEdgeConfig(raw)).toThrow(ConfigError);
    expect(() => parseEdgeConfig(raw)).toThrow(message);
  });

  it("needs no parker settings on gateways of other domains", () => {
    const config = parseEdgeConfig({
      ...base,
      domains: ["ffbs_parker", "ffbs_welt"],
      gateways: [...base.gateways, { name: "gw09", domains: ["ffbs_welt"] }],
    });
    expect(config.gateways).toHaveLength(3);
  });
});
