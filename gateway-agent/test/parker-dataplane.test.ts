import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prefixOf } from "@wgkex-edge/shared/parker";
import { describe, expect, it } from "vitest";
import { RecordingRunner } from "../src/commands/recording-runner.ts";
import { fail, ok } from "../src/commands/runner.ts";
import { ConfigError, parseConfig } from "../src/config/load.ts";
import { ParkerPeerProgrammer } from "../src/dataplane/parker/peers.ts";
import { checkRanges } from "../src/dataplane/parker/ranges.ts";
import { planParkerReconcile } from "../src/dataplane/parker/reconcile.ts";
import { PeerProgrammer } from "../src/dataplane/peers.ts";
import { provisionDomain } from "../src/dataplane/provision.ts";
import { silentLogger } from "../src/log.ts";

const prefix = prefixOf;
const POOLS = [prefix("2001:db8:100::/48"), prefix("10.0.0.0/16")];
const target = { wireguard: "wg-parker", pools: POOLS };

function wgKey(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  const b64 = (jwk: string | undefined) => Buffer.from(jwk!, "base64url").toString("base64");
  return {
    privateKey: b64(privateKey.export({ format: "jwk" }).d),
    publicKey: b64(publicKey.export({ format: "jwk" }).x),
  };
}
const [A, B] = [wgKey().publicKey, wgKey().publicKey] as [string, string];

describe("Parker peers at the command boundary", () => {
  it("installs peers with their ranges as allowed-ips and a route per range: one wg, one ip process", async () => {
    const runner = new RecordingRunner();
    const result = await new ParkerPeerProgrammer(runner, target).install([
      { key: A, ranges: ["2001:db8:100:1::/64", "10.0.1.0/24"] },
      { key: B, ranges: ["2001:db8:100:2::/64"] },
    ]);
    expect(result).toEqual({ done: [A, B], failed: [] });
    expect(runner.calls).toEqual([
      {
        argv: [
          "wg",
          "set",
          "wg-parker",
          "peer",
          A,
          "allowed-ips",
          "2001:db8:100:1::/64,10.0.1.0/24",
          "peer",
          B,
          "allowed-ips",
          "2001:db8:100:2::/64",
        ],
        stdin: undefined,
      },
      {
        argv: ["ip", "-force", "-batch", "-"],
        stdin:
          "route replace 2001:db8:100:1::/64 dev wg-parker\nroute replace 10.0.1.0/24 dev wg-parker\nroute replace 2001:db8:100:2::/64 dev wg-parker\n",
      },
    ]);
  });

  it("refuses ranges outside the pools, non-canonical ones and bad keys, before any command", async () => {
    const runner = new RecordingRunner();
    const result = await new ParkerPeerProgrammer(runner, target).install([
      { key: A, ranges: ["0.0.0.0/0"] },
      { key: B, ranges: ["2001:DB8:100:2::/64"] },
      { key: "not-a-key", ranges: ["10.0.1.0/24"] },
    ]);
    expect(result.done).toEqual([]);
    expect(result.failed).toEqual([
      { public_key: A, reason: "parker: 0.0.0.0/0 is outside this gateway's pools" },
      { public_key: B, reason: "parker: 2001:DB8:100:2::/64 is not canonical (2001:db8:100:2::/64)" },
      { public_key: "not-a-key", reason: "not a canonical WireGuard public key" },
    ]);
    expect(runner.calls).toEqual([]);
  });

  it("fails only the key whose route failed, after retrying it alone", async () => {
    const runner = new RecordingRunner()
      .on(["ip", "-force", "-batch", "-"], fail("RTNETLINK answers: Invalid argument\nCommand failed -:2"))
      .on(["ip", "route", "replace", "2001:db8:100:2::/64"], fail("RTNETLINK answers: Invalid argument"));
    const result = await new ParkerPeerProgrammer(runner, target).install([
      { key: A, ranges: ["2001:db8:100:1::/64"] },
      { key: B, ranges: ["2001:db8:100:2::/64"] },
    ]);
    expect(result.done).toEqual([A]);
    expect(result.failed).toEqual([{ public_key: B, reason: "ip: RTNETLINK answers: Invalid argument" }]);
  });

  it("removes routes first (only the node's own, inside the pools), then the peer", async () => {
    const runner = new RecordingRunner();
    const current = new Map([[A, ["2001:db8:100:1::/64", "10.0.1.0/24", "192.0.2.0/24"]]]);
    const result = await new ParkerPeerProgrammer(runner, target).remove([A, B], current);
    expect(result).toEqual({ done: [A, B], failed: [] });
    expect(runner.argvs()).toEqual([
      ["ip", "-force", "-batch", "-"],
      ["wg", "set", "wg-parker", "peer", A, "remove", "peer", B, "remove"],
    ]);
    expect(runner.calls[0]!.stdin).toBe(
      "route del 2001:db8:100:1::/64 dev wg-parker\nroute del 10.0.1.0/24 dev wg-parker\n",
    );
  });
});

describe("Parker ranges and reconcile (pure)", () => {
  it("checks ranges", () => {
    expect(checkRanges(["2001:db8:100:1::/64", "2001:db8:100:1::/64"], POOLS)).toEqual({
      ok: true,
      ranges: ["2001:db8:100:1::/64"],
    });
    expect(checkRanges([], POOLS)).toMatchObject({ ok: false });
    expect(checkRanges(["10.0.1.1/24"], POOLS)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/host bits/),
    });
  });

  it("adds routes peers need, removes our orphans, leaves foreign and kernel routes alone", () => {
    const plan = planParkerReconcile(
      {
        dump: {
          publicKey: undefined,
          listenPort: undefined,
          peers: [
            { key: A, endpoint: undefined, allowedIps: ["2001:db8:100:1::/64", "10.0.1.0/24"], latestHandshake: 0 },
            { key: B, endpoint: undefined, allowedIps: ["2001:db8:100:2::/64"], latestHandshake: 0 },
          ],
        },
        routes: [
          { dst: "2001:db8:100:1::/64", protocol: "boot" },
          { dst: "2001:db8:100:9::/64", protocol: "boot" },
          { dst: "fe80::/64", protocol: "kernel" },
          { dst: "192.0.2.0/24", protocol: "static" },
          { dst: "10.0.0.7", protocol: "boot" },
        ],
      },
      POOLS,
    );
    expect(plan).toEqual({
      addRoutes: ["10.0.1.0/24", "2001:db8:100:2::/64"],
      delRoutes: ["2001:db8:100:9::/64", "10.0.0.7/32"],
    });
  });
});

describe("a Parker domain in the agent's configuration", () => {
  const dir = mkdtempSync(join(tmpdir(), `parker-agent-${process.pid}-`));
  const key = wgKey();
  writeFileSync(join(dir, "parker.key"), `${key.privateKey}\n`, { mode: 0o600 });
  writeFileSync(join(dir, "token"), "t\n", { mode: 0o600 });
  const yaml = (domain: string) => `gateway: gw01
edge: { url: "https://broker.example.net", token_file: ${dir}/token }
external_address: gw01.ext.example.net
domain_prefixes: [ffbs_]
state_dir: ${dir}/state
metrics: { listen: null }
domains:
  ffbs_parker:
${domain}`;
  const good = `    mode: parker
    listen_port: 51820
    private_key_file: ${dir}/parker.key
    parker: { pools: [2001:db8:100::/48, 10.0.0.0/16], address4: 10.255.255.1 }
`;

  it("needs no domain seed, and is provisioned as one WireGuard interface with the next hops", async () => {
    const config = parseConfig(yaml(good));
    const domain = config.domains[0]!;
    expect(domain).toMatchObject({ mode: "parker", parker: { address6: "fe80::1" }, vniResolved: 0 });
    const runner = new RecordingRunner().on(["ip", "-d", "-j", "link", "show"], fail("Device does not exist"));
    const programmer = new PeerProgrammer(runner, { wireguard: "wg-parker", vxlan: "vx-parker", variant: "wgkex" });
    const result = await provisionDomain(runner, config, domain, programmer, { logger: silentLogger });
    expect(result).toEqual({
      created: true,
      // A new interface holds no node: the session asks the edge for a snapshot.
      withoutPeers: true,
      publicKey: key.publicKey,
      address: "fe80::1",
      address4: "10.255.255.1",
      problems: [],
      batman: false,
    });
    expect(runner.argvs()).toEqual([
      ["ip", "-d", "-j", "link", "show", "dev", "wg-parker"],
      ["ip", "link", "add", "dev", "wg-parker", "type", "wireguard"],
      ["ip", "link", "set", "dev", "wg-parker", "addrgenmode", "none"],
      ["wg", "set", "wg-parker", "private-key", `${dir}/parker.key`, "listen-port", "51820"],
      ["ip", "-6", "-j", "addr", "show", "dev", "wg-parker"],
      ["ip", "-6", "addr", "replace", "fe80::1/128", "dev", "wg-parker"],
      ["ip", "link", "set", "dev", "wg-parker", "mtu", "1420", "up"],
      ["ip", "-4", "addr", "replace", "10.255.255.1/32", "dev", "wg-parker"],
    ]);
    expect(ok().code).toBe(0);
  });

  it.each([
    [
      "parker settings missing",
      good.replace(/ {4}parker: .*\n/, ""),
      "domains.ffbs_parker.parker: is required with mode: parker",
    ],
    [
      "bad pool",
      good.replace("10.0.0.0/16", "10.0.0.1/16"),
      'domains.ffbs_parker.parker.pools[1]: "10.0.0.1/16" has host bits set',
    ],
    [
      "bad address4",
      good.replace("10.255.255.1", "fe80::2"),
      "domains.ffbs_parker.parker.address4: must be an IPv4 address",
    ],
    [
      "parker on a batman domain",
      good.replace("mode: parker", "mode: batman"),
      "domains.ffbs_parker.parker: only with mode: parker",
    ],
  ])("names the field: %s", (_name, domain, message) => {
    expect(() => parseConfig(yaml(domain))).toThrow(ConfigError);
    expect(() => parseConfig(yaml(domain))).toThrow(message);
  });
});
