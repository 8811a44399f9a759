import { describe, expect, it } from "vitest";
import { RecordingRunner } from "../src/commands/recording-runner.ts";
import { fail, ok } from "../src/commands/runner.ts";
import type { DomainConfig } from "../src/config/schema.ts";
import { describeChain, formatChain, mtuChain, mtuTable, observeMtu } from "../src/dataplane/mtu.ts";
import { testSetup } from "../testing/index.ts";

function domain(mtu = 1420, batman = true): DomainConfig {
  const d = testSetup().config.domains[0]!;
  return { ...d, mtu, batman: { ...d.batman, enabled: batman } };
}

describe("the MTU chain wg → vx → bat", () => {
  it("mtu 1420 (the default): vx 1350, batman-adv fragments and says what would avoid it", () => {
    const c = mtuChain(domain());
    expect(c).toMatchObject({ source: "configuration", wg: 1420, vx: 1350, bat: 1500, fragments: true });
    expect(c).toMatchObject({ wgWithoutFragments: 1630, underlayPacket: 1710 });
    expect(formatChain(c)).toBe("wg-welt 1420 → vx-welt 1350 → bat-welt 1500");
    const d = describeChain(c);
    expect(d.warn).toBe(true);
    expect(d.text).toBe(
      "MTU ffmuc_welt (from the configuration): wg-welt 1420 → vx-welt 1350 → bat-welt 1500: batman-adv will fragment: " +
        "vx-welt 1350 < 1560, so every full-size client frame crosses the tunnel in two packets. To avoid it set " +
        "mtu: 1630 (then WireGuard sends 1710-byte packets over IPv6, which a 1500-byte underlay fragments); " +
        "see docs/gateway-install.md#mtu",
    );
  });

  it("mtu 1630: vx 1560, no fragmentation; batman-adv disabled: no bat in the chain", () => {
    const c = mtuChain(domain(1630));
    expect(c).toMatchObject({ vx: 1560, bat: 1500, fragments: false });
    expect(describeChain(c)).toEqual({
      warn: false,
      text: "MTU ffmuc_welt (from the configuration): wg-welt 1630 → vx-welt 1560 → bat-welt 1500: batman-adv carries 1500-byte frames whole (no fragmentation)",
    });
    const off = mtuChain(domain(1420, false));
    expect(off.bat).toBeUndefined();
    expect(off.fragments).toBe(false);
    expect(describeChain(off).text).toBe(
      "MTU ffmuc_welt (from the configuration): wg-welt 1420 → vx-welt 1350; batman-adv disabled",
    );
  });

  it("what the kernel reports wins over the configuration; fragmentation off lowers the mesh MTU instead", () => {
    const c = mtuChain(domain(), { wg: 1500, vx: 1430, bat: 1370, fragmentation: false });
    expect(c).toMatchObject({ source: "kernel", wg: 1500, vx: 1430, bat: 1370, fragments: false });
    expect(describeChain(c)).toMatchObject({ warn: true });
    expect(describeChain(c).text).toContain("fragmentation is off, so the mesh MTU is 1370");
    expect(mtuChain(domain(), { fragmentation: false }).bat).toBe(1290);
  });

  it("reads the MTUs and batman-adv's fragmentation setting with read-only commands", async () => {
    const runner = new RecordingRunner()
      .on(["ip", "-d", "-j", "link", "show", "dev", "wg-welt"], ok('[{"ifname":"wg-welt","mtu":1420}]'))
      .on(["ip", "-d", "-j", "link", "show", "dev", "vx-welt"], ok('[{"ifname":"vx-welt","mtu":1350}]'))
      .on(["ip", "-d", "-j", "link", "show", "dev", "bat-welt"], ok('[{"ifname":"bat-welt","mtu":1500}]'))
      .on(["batctl", "meshif", "bat-welt", "fragmentation"], ok("enabled\n"));
    expect(await observeMtu(runner, domain())).toEqual({ wg: 1420, vx: 1350, bat: 1500, fragmentation: true });
    expect(runner.calls.every((c) => c.argv.includes("-j") || c.argv[0] === "batctl")).toBe(true);
    const none = new RecordingRunner().on(() => true, fail('Device "wg-welt" does not exist.'));
    expect(await observeMtu(none, domain())).toEqual({
      wg: undefined,
      vx: undefined,
      bat: undefined,
      fragmentation: undefined,
    });
  });

  it("status table: one row per domain", () => {
    expect(mtuTable([mtuChain(domain()), { ...mtuChain(domain(1630)), domain: "ffmuc_muc_cty" }])).toBe(
      [
        "MTU            WIREGUARD     VXLAN         BATMAN         BATMAN-ADV FRAGMENTS  FROM",
        "ffmuc_welt     wg-welt 1420  vx-welt 1350  bat-welt 1500  yes (vx-welt < 1560)  configuration",
        "ffmuc_muc_cty  wg-welt 1630  vx-welt 1560  bat-welt 1500  no                    configuration",
      ].join("\n"),
    );
  });
});
