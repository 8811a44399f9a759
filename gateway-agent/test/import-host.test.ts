import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type CliIO, EXIT, main } from "../src/cli.ts";
import { RecordingRunner } from "../src/commands/recording-runner.ts";
import { fail, ok } from "../src/commands/runner.ts";
import { parseLink, parseWgInterfaceLine, readHostDomain } from "../src/import/host.ts";

// Real output of `ip -d -j link show dev …` and `wg show … dump` (iproute2 6.x, wireguard-go),
// trimmed to the fields that matter plus a few around them.
const WG_LINK = JSON.stringify([
  {
    ifindex: 2,
    ifname: "wg-welt",
    flags: ["POINTOPOINT", "MULTICAST", "NOARP", "UP", "LOWER_UP"],
    mtu: 1406,
    qdisc: "pfifo_fast",
    link_type: "none",
    linkinfo: { info_kind: "tun", info_data: { type: "tun", pi: true, vnet_hdr: false } },
  },
]);
const VX_LINK = JSON.stringify([
  {
    ifindex: 3,
    ifname: "vx-welt",
    mtu: 1336,
    address: "1a:08:ab:d1:ef:00",
    linkinfo: { info_kind: "vxlan", info_data: { id: 4831583, local6: "fe80::1", link: "wg-welt", port: 8472 } },
  },
]);
const BAT_LINK = JSON.stringify([{ ifindex: 4, ifname: "bat-welt", mtu: 1500, master: "br-welt", link_type: "ether" }]);
const WG_DUMP =
  "WAFhlgaaY3lYEGa1liGylWIKc19LSUmYbB5Ays2w+mY=\tTHdZ/Iewhehu/fwn5mQME9zGYrahuxG1tMvKamAOFiA=\t40011\toff\n";

function gateway(links: Record<string, string>, dump = WG_DUMP): RecordingRunner {
  const runner = new RecordingRunner();
  runner.use(({ argv }) => {
    const j = argv.join(" ");
    if (j.startsWith("ip -d -j link show dev ")) {
      const link = links[argv[6]!];
      return link ? ok(link) : fail(`Device "${argv[6]}" does not exist.`);
    }
    if (j.startsWith("wg show ") && argv[3] === "dump") return ok(dump);
    return undefined;
  });
  return runner;
}

describe("import-wgkex --from-host: reading a wgkex gateway's interfaces", () => {
  it("parses the commands' real output", () => {
    expect(parseLink(WG_LINK)?.mtu).toBe(1406);
    expect(parseLink(BAT_LINK)?.master).toBe("br-welt");
    expect(parseLink("garbage")).toBeUndefined();
    expect(parseWgInterfaceLine(WG_DUMP)).toEqual({
      publicKey: "THdZ/Iewhehu/fwn5mQME9zGYrahuxG1tMvKamAOFiA=",
      listenPort: 40011,
    });
    expect(parseWgInterfaceLine("(none)\t(none)\t0\toff\n")).toEqual({});
  });

  it("listen port, MTU, VNI, batman and bridge, with read-only commands only", async () => {
    const runner = gateway({ "wg-welt": WG_LINK, "vx-welt": VX_LINK, "bat-welt": BAT_LINK });
    expect(await readHostDomain(runner, "welt")).toEqual({
      wireguard: "wg-welt",
      exists: true,
      publicKey: "THdZ/Iewhehu/fwn5mQME9zGYrahuxG1tMvKamAOFiA=",
      listenPort: 40011,
      mtu: 1406,
      vni: 4831583,
      batman: true,
      bridge: "br-welt",
    });
    // Only reads: link details and the WireGuard dump.
    expect(runner.argvs()).toEqual([
      ["ip", "-d", "-j", "link", "show", "dev", "wg-welt"],
      ["wg", "show", "wg-welt", "dump"],
      ["ip", "-d", "-j", "link", "show", "dev", "vx-welt"],
      ["ip", "-d", "-j", "link", "show", "dev", "bat-welt"],
    ]);
    expect(await readHostDomain(gateway({}), "welt")).toEqual({ wireguard: "wg-welt", exists: false });
  });
});

describe("import-wgkex --from-host: command line", () => {
  const tmp = mkdtempSync(join(tmpdir(), "wgkex-import-host-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const fixture = join(import.meta.dirname, "import-fixtures", "wgkex.ffmuc.yaml");

  function io(runner?: RecordingRunner) {
    const out: string[] = [];
    const err: string[] = [];
    const cli: CliIO = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), readStdin: async () => "" };
    if (runner) cli.runner = runner;
    return { out, err, io: cli };
  }

  it("fills the skeleton from this gateway's interfaces", async () => {
    const x = io(gateway({ "wg-welt": WG_LINK, "vx-welt": VX_LINK, "bat-welt": BAT_LINK }));
    const out = join(tmp, "gw04");
    expect(await main(["import-wgkex", fixture, "--gateway", "gw04", "--from-host", "--out-dir", out], x.io)).toBe(
      EXIT.ok,
    );
    const gw04 = readFileSync(join(out, "agent-gw04.yaml"), "utf8");
    expect(gw04).toContain("    listen_port: 40011 # read from wg-welt on this gateway");
    expect(gw04).toContain("    mtu: 1406 # read from wg-welt on this gateway");
    expect(readFileSync(join(out, "import-report.txt"), "utf8")).toContain(
      "domain ffmuc_muc_cty: wg-muc_cty does not exist on this gateway",
    );
  });

  it("needs --gateway: the host is one gateway", async () => {
    const x = io();
    expect(await main(["import-wgkex", fixture, "--from-host", "-n"], x.io)).toBe(EXIT.usage);
    expect(x.err.join("")).toContain(
      "--from-host reads this gateway's interfaces: say which gateway with --gateway NAME",
    );
  });
});
