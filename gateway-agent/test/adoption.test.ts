import { linkLocal } from "@wgkex-edge/shared";
import { describe, expect, it } from "vitest";
import { RecordingRunner } from "../src/commands/recording-runner.ts";
import { ok } from "../src/commands/runner.ts";
import type { AgentConfig } from "../src/config/schema.ts";
import { PeerProgrammer } from "../src/dataplane/peers.ts";
import { provisionDomain } from "../src/dataplane/provision.ts";
import { silentLogger } from "../src/log.ts";
import { publicKeys, testSetup } from "../testing/index.ts";

const target = { wireguard: "wg-welt", vxlan: "vx-welt", variant: "wgkex" as const };
const NETWORKD_MAC = "4e:1d:2c:aa:bb:cc";

/** ffmuc_welt with batman-adv and the mesh bridge, as FFMUC runs it. */
function ffmucSetup(): { config: AgentConfig; gatewayKey: string; staticKey: string } {
  const t = testSetup({
    domainExtra: "",
  });
  const d = t.config.domains[0]!;
  const config = {
    ...t.config,
    domains: [
      {
        ...d,
        batman: {
          enabled: true,
          routing_algo: "BATMAN_V" as const,
          gw_mode: "server" as const,
          throughput_override: "1000mbit",
          hop_penalty: 60,
          bridge: true,
        },
      },
    ],
  };
  return { config, gatewayKey: t.gatewayKey.publicKey, staticKey: t.staticKey };
}

/**
 * What `ip -d -j link show` and friends say on a gateway whose interfaces systemd-networkd made
 * at boot, exactly as configured: wg-welt up with the derived address, vx-welt (networkd's own
 * MAC) enslaved to bat-welt, bat-welt in br-welt, all up. `peers` are on wg-welt.
 */
function networkdHost(gatewayKey: string, peers: Array<{ key: string; ll: string }>): RecordingRunner {
  const own = linkLocal(gatewayKey, "wgkex");
  const link = (name: string, extra: Record<string, unknown>) =>
    ok(JSON.stringify([{ ifname: name, mtu: 1500, flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"], ...extra }]));
  const runner = new RecordingRunner();
  runner.on(["ip", "-d", "-j", "link", "show", "dev", "wg-welt"], () =>
    link("wg-welt", { mtu: 1420, linkinfo: { info_kind: "wireguard" }, inet6_addr_gen_mode: "none" }),
  );
  runner.on(["ip", "-d", "-j", "link", "show", "dev", "vx-welt"], () =>
    link("vx-welt", {
      mtu: 1350,
      address: NETWORKD_MAC,
      master: "bat-welt",
      linkinfo: { info_kind: "vxlan", info_data: { id: 4831583, local6: own, port: 8472, link: "wg-welt" } },
    }),
  );
  runner.on(["ip", "-d", "-j", "link", "show", "dev", "bat-welt"], () =>
    link("bat-welt", { master: "br-welt", linkinfo: { info_kind: "batadv" } }),
  );
  runner.on(["ip", "-d", "-j", "link", "show", "dev", "br-welt"], () =>
    link("br-welt", { linkinfo: { info_kind: "bridge" } }),
  );
  runner.on(["ip", "-6", "-j", "addr", "show", "dev", "wg-welt"], () =>
    ok(JSON.stringify([{ addr_info: [{ local: own, prefixlen: 128, scope: "link" }] }])),
  );
  runner.on(["wg", "show", "wg-welt", "dump"], () =>
    ok(
      ["priv\tpub\t40011\toff", ...peers.map((p) => `${p.key}\t(none)\t(none)\t${p.ll}/128\t0\t0\t0\toff`), ""].join(
        "\n",
      ),
    ),
  );
  return runner;
}

describe("adopting interfaces that already exist (systemd-networkd, an earlier run)", () => {
  it("changes nothing that is already right: no link, address, MAC or enslavement written; the VXLAN keeps its MAC", async () => {
    const { config, gatewayKey, staticKey } = ffmucSetup();
    const [node] = publicKeys(1);
    const runner = networkdHost(gatewayKey, [
      { key: node!, ll: linkLocal(node!, "wgkex") },
      { key: staticKey, ll: linkLocal(staticKey, "wgkex") },
    ]);
    const d = config.domains[0]!;
    const result = await provisionDomain(runner, config, d, new PeerProgrammer(runner, target), {
      logger: silentLogger,
    });
    expect(result).toMatchObject({ created: false, withoutPeers: false, problems: [] });
    // Only settings that are idempotent in the kernel (same key and port, batman-adv knobs, the
    // static peer) are written again; nothing that adds, removes, renames or re-parents a link.
    expect(runner.argvs((c) => c.argv[0] === "ip" && !c.argv.includes("-j") && !c.argv.includes("-batch"))).toEqual([]);
    expect(runner.argvs((c) => c.argv[0] === "batctl")).toEqual([
      ["batctl", "hardif", "vx-welt", "throughput_override", "1000mbit"],
      ["batctl", "meshif", "bat-welt", "gw_mode", "server"],
      ["batctl", "meshif", "bat-welt", "hop_penalty", "60"],
    ]);
    expect(runner.argvs((c) => c.argv[0] === "wg" && c.argv[1] === "set")[0]).toEqual([
      "wg",
      "set",
      "wg-welt",
      "private-key",
      d.private_key_file,
      "listen-port",
      "40011",
    ]);
  });

  it("a WireGuard interface found without node peers (made at boot) asks for a snapshot: a replay would lose every node", async () => {
    const { config, gatewayKey, staticKey } = ffmucSetup();
    // networkd configured the other gateway as a [WireGuardPeer]; the nodes are the agent's.
    const runner = networkdHost(gatewayKey, [{ key: staticKey, ll: linkLocal(staticKey, "wgkex") }]);
    const result = await provisionDomain(runner, config, config.domains[0]!, new PeerProgrammer(runner, target), {
      logger: silentLogger,
    });
    expect(result).toMatchObject({ created: false, withoutPeers: true });
  });

  it("a wrong VXLAN is still replaced, and the recreated one gets the derived MAC", async () => {
    const { config, gatewayKey } = ffmucSetup();
    const runner = networkdHost(gatewayKey, []);
    runner.on(["ip", "-d", "-j", "link", "show", "dev", "vx-welt"], () =>
      ok(JSON.stringify([{ ifname: "vx-welt", linkinfo: { info_kind: "vxlan", info_data: { id: 1 } } }])),
    );
    await provisionDomain(runner, config, config.domains[0]!, new PeerProgrammer(runner, target), {
      logger: silentLogger,
    });
    const writes = runner.argvs((c) => c.argv[0] === "ip" && c.argv.includes("vx-welt") && !c.argv.includes("-j"));
    expect(writes[0]).toEqual(["ip", "link", "del", "dev", "vx-welt"]);
    expect(writes[1]?.slice(0, 7)).toEqual(["ip", "link", "add", "dev", "vx-welt", "type", "vxlan"]);
    expect(writes[2]?.slice(0, 6)).toEqual(["ip", "link", "set", "dev", "vx-welt", "address"]);
    expect(writes[2]?.[6]).not.toBe(NETWORKD_MAC);
  });
});
