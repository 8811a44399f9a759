import { describe, expect, it } from "vitest";
import { parseFdb, parseRoutes, parseWgDump } from "../../src/dataplane/observe.ts";

describe("parsers", () => {
  it("reads wg show dump", () => {
    const dump = parseWgDump(
      "priv\tpubA=\t40011\toff\n" +
        "K1=\t(none)\t(none)\tfe80::5/128\t0\t0\t0\toff\n" +
        "K2=\t(none)\t192.0.2.1:4000\tfe80::6/128,fe80::7/128\t1700000000\t10\t20\t25\n",
    );
    expect(dump.publicKey).toBe("pubA=");
    expect(dump.listenPort).toBe(40011);
    expect(dump.peers).toEqual([
      { key: "K1=", endpoint: undefined, allowedIps: ["fe80::5/128"], latestHandshake: 0 },
      {
        key: "K2=",
        endpoint: "192.0.2.1:4000",
        allowedIps: ["fe80::6/128", "fe80::7/128"],
        latestHandshake: 1700000000,
      },
    ]);
  });

  it("reads ip -j route and bridge -j fdb", () => {
    expect(parseRoutes('[{"dst":"fe80::1","protocol":"kernel"},{"dst":"fe80::5","metric":1024}]')).toEqual([
      { dst: "fe80::1", protocol: "kernel" },
      { dst: "fe80::5", protocol: undefined },
    ]);
    expect(parseRoutes("")).toEqual([]);
    expect(
      parseFdb('[{"mac":"00:00:00:00:00:00","dst":"fe80::5","viaIf":"wg-x","flags":["self"],"state":"permanent"}]'),
    ).toEqual([{ mac: "00:00:00:00:00:00", dst: "fe80::5", via: "wg-x" }]);
  });
});
