import { describe, expect, it } from "vitest";
import { DEFAULT_V6MTU, endpointFamily, formatEndpoint, parseParkerQuery, tunnelMtu } from "../src/parker/index.ts";

const KEY = "JbXXLRBd5VaAwlYN0v9OB79DY+9Mm51LvgXZaXf7EUU=";
const query = (text: string) => parseParkerQuery(new URL(`http://edge.test/config?${text}`).searchParams);

describe("the node's request (parker-facts §1.1)", () => {
  it("reads exactly what BusyBox wget sent in the facts' capture", () => {
    const parsed = query(
      "pubkey=JbXXLRBd5VaAwlYN0v9OB79DY%2B9Mm51LvgXZaXf7EUU=&nonce=241f86e6ef31b03da6db23218b3d2789&v6mtu=1436&version=v2023.2.4-test",
    );
    expect(parsed).toEqual({
      ok: true,
      request: { publicKey: KEY, nonce: "241f86e6ef31b03da6db23218b3d2789", v6mtu: 1436 },
    });
  });

  it("turns a '+' that arrived as a space back into '+', and ignores tc_* limits", () => {
    const parsed = query(`pubkey=${KEY}&nonce=abc&v6mtu=1500&version=x&tc_ingress=10000&tc_egress=2000`);
    expect(parsed).toMatchObject({ ok: true, request: { publicKey: KEY } });
  });

  it("defaults a missing v6mtu to 1280, refuses an empty or non-numeric one", () => {
    expect(query(`pubkey=${KEY}&nonce=abc`)).toMatchObject({ ok: true, request: { v6mtu: DEFAULT_V6MTU } });
    expect(query(`pubkey=${KEY}&nonce=abc&v6mtu=`)).toMatchObject({ ok: false, field: "v6mtu" });
    expect(query(`pubkey=${KEY}&nonce=abc&v6mtu=15x`)).toMatchObject({ ok: false, field: "v6mtu" });
    expect(query(`pubkey=${KEY}&nonce=abc&v6mtu=65536`)).toMatchObject({ ok: false, field: "v6mtu" });
  });

  it("refuses a missing or malformed key and an empty or oversized nonce", () => {
    expect(query("nonce=abc")).toMatchObject({ ok: false, field: "pubkey" });
    expect(query(`pubkey=${KEY.slice(1)}&nonce=abc`)).toMatchObject({ ok: false, field: "pubkey" });
    expect(query(`pubkey=${KEY}`)).toMatchObject({ ok: false, field: "nonce" });
    expect(query(`pubkey=${KEY}&nonce=`)).toMatchObject({ ok: false, field: "nonce" });
    expect(query(`pubkey=${KEY}&nonce=${"a".repeat(129)}`)).toMatchObject({ ok: false, field: "nonce" });
    expect(query(`pubkey=${KEY}&nonce=%0A`)).toMatchObject({ ok: false, field: "nonce" });
  });
});

describe("MTU and endpoint family (parker-facts §7.5)", () => {
  it.each([
    [1500, 1375],
    [1492, 1375], // PPPoE
    [1455, 1375],
    [1436, 1356], // DS-Lite: wgkex's min(v6mtu, 1375) would say 1375, 20 bytes too many
    [1360, 1280],
    [1280, 1280],
    [0, 1280],
  ])("v6mtu %i gives a tunnel MTU of %i", (v6mtu, mtu) => {
    expect(tunnelMtu(v6mtu)).toBe(mtu);
  });

  it("sends IPv4 endpoints to IPv4 clients and to IPv6 clients whose WAN cannot carry 1375 + 80", () => {
    expect(endpointFamily("198.51.100.7", 1500)).toBe(4);
    expect(endpointFamily("2001:db8::7", 1500)).toBe(6);
    expect(endpointFamily("2001:db8::7", 1455)).toBe(6);
    expect(endpointFamily("2001:db8::7", 1454)).toBe(4);
    expect(endpointFamily("::ffff:198.51.100.7", 1500)).toBe(4);
    expect(endpointFamily(undefined, 1500)).toBe(4);
  });

  it("writes endpoints as wg prints them", () => {
    expect(formatEndpoint("2001:DB8:0::1", 51820)).toBe("[2001:db8::1]:51820");
    expect(formatEndpoint("198.51.100.1", 40000)).toBe("198.51.100.1:40000");
    expect(() => formatEndpoint("gw01.example.net", 1)).toThrow(/not an IP literal/);
  });
});
