import { linkLocal, stableMac } from "@wgkex-edge/shared";
import { describe, expect, it } from "vitest";
import { DryRunRunner } from "../src/commands/dry-run-runner.ts";
import { ExecaRunner } from "../src/commands/execa-runner.ts";
import { RecordingRunner } from "../src/commands/recording-runner.ts";
import { fail, ok } from "../src/commands/runner.ts";
import { PeerProgrammer } from "../src/dataplane/peers.ts";
import { BATMAN_MISSING, provisionDomain } from "../src/dataplane/provision.ts";
import { silentLogger } from "../src/log.ts";
import { keyPair, publicKeys, SimHost, testSetup } from "../testing/index.ts";

const target = { wireguard: "wg-welt", vxlan: "vx-welt", variant: "wgkex" as const };
const ZERO = "00:00:00:00:00:00";

describe("peer programming at the command boundary", () => {
  it("installs a batch with one wg, one ip and one bridge process, exact argv and stdin", async () => {
    const runner = new RecordingRunner();
    const [a, b] = publicKeys(2);
    const la = linkLocal(a!, "wgkex");
    const lb = linkLocal(b!, "wgkex");
    const result = await new PeerProgrammer(runner, target).install([a!, b!]);
    expect(result).toEqual({ done: [a, b], failed: [] });
    expect(runner.calls).toEqual([
      {
        argv: ["wg", "set", "wg-welt", "peer", a, "allowed-ips", `${la}/128`, "peer", b, "allowed-ips", `${lb}/128`],
        stdin: undefined,
      },
      {
        argv: ["ip", "-6", "-force", "-batch", "-"],
        stdin: `route replace ${la}/128 dev wg-welt\nroute replace ${lb}/128 dev wg-welt\n`,
      },
      {
        argv: ["bridge", "-force", "-batch", "-"],
        stdin: `fdb append ${ZERO} dev vx-welt dst ${la} via wg-welt\nfdb append ${ZERO} dev vx-welt dst ${lb} via wg-welt\n`,
      },
    ]);
  });

  it("10,000 keys cost a handful of spawns, not 30,000", async () => {
    const runner = new RecordingRunner();
    const keys = publicKeys(10_000);
    const result = await new PeerProgrammer(runner, target).install(keys);
    expect(result.done).toHaveLength(10_000);
    expect(runner.spawns).toBe(6); // 4 × wg set (2,500 peers each), 1 × ip, 1 × bridge
    runner.clear();
    const removed = await new PeerProgrammer(runner, target).remove(keys);
    expect(removed.done).toHaveLength(10_000);
    expect(runner.spawns).toBe(6); // bridge, ip, 4 × wg set … remove (2,500 each)
  });

  it("removes in the order FDB → route → peer, with 'not found' as success", async () => {
    const runner = new RecordingRunner();
    const [a] = publicKeys(1);
    const la = linkLocal(a!, "wgkex");
    runner.on(["ip", "-6", "-force", "-batch", "-"], fail("RTNETLINK answers: No such process\nCommand failed -:1\n"));
    const result = await new PeerProgrammer(runner, target).remove([a!]);
    expect(result).toEqual({ done: [a], failed: [] });
    expect(runner.argvs()).toEqual([
      ["bridge", "-force", "-batch", "-"],
      ["ip", "-6", "-force", "-batch", "-"],
      ["wg", "set", "wg-welt", "peer", a, "remove"],
    ]);
    expect(runner.calls[0]!.stdin).toBe(`fdb del ${ZERO} dev vx-welt dst ${la} via wg-welt\n`);
    expect(runner.calls[1]!.stdin).toBe(`route del ${la}/128 dev wg-welt\n`);
  });

  it("retries a failed batch item by item; one bad entry never blocks the rest", async () => {
    const sim = new SimHost();
    sim.links.set("wg-welt", { kind: "wireguard", data: {} });
    const keys = publicKeys(5, 3);
    sim.failKeys.add(keys[2]!);
    const failures: string[] = [];
    const result = await new PeerProgrammer(sim.runner, target, undefined, {
      onCommandFailure: (c) => failures.push(c),
    }).install(keys);
    expect(result.done).toEqual(keys.filter((_, i) => i !== 2));
    expect(result.failed).toEqual([
      { public_key: keys[2], reason: "wg: Unable to modify interface: Invalid argument" },
    ]);
    // 1 batched `wg set` + 5 single `wg set` + ip batch + bridge batch
    expect(sim.runner.argvs().map((a) => a.slice(0, 2).join(" "))).toEqual([
      ...Array(6).fill("wg set"),
      "ip -6",
      "bridge -force",
    ]);
    expect(sim.routes.get("wg-welt")?.size).toBe(4);
    expect(failures).toEqual(["wg", "wg"]);
  });

  it("retries only the lines a -force batch reports, and all lines when it cannot tell", async () => {
    const runner = new RecordingRunner();
    const keys = publicKeys(3, 4);
    const lls = keys.map((k) => linkLocal(k, "wgkex"));
    runner.on(
      ["ip", "-6", "-force", "-batch", "-"],
      fail(
        `RTNETLINK answers: File exists\nCommand failed -:1\nRTNETLINK answers: Invalid argument\nCommand failed -:3\n`,
      ),
    );
    runner.on(["ip", "-6", "route", "replace", `${lls[2]}/128`], fail("RTNETLINK answers: Invalid argument"));
    runner.on(["bridge", "-force", "-batch", "-"], fail("Segmentation fault", 139));
    const result = await new PeerProgrammer(runner, target).install(keys);
    expect(result.failed).toEqual([{ public_key: keys[2], reason: "ip: RTNETLINK answers: Invalid argument" }]);
    expect(result.done).toEqual([keys[0], keys[1]]);
    expect(runner.argvs().slice(2)).toEqual([
      ["ip", "-6", "route", "replace", `${lls[2]}/128`, "dev", "wg-welt"],
      ["bridge", "-force", "-batch", "-"],
      ["bridge", "fdb", "append", ZERO, "dev", "vx-welt", "dst", lls[0], "via", "wg-welt"],
      ["bridge", "fdb", "append", ZERO, "dev", "vx-welt", "dst", lls[1], "via", "wg-welt"],
    ]);
  });

  it("never passes an invalid key to a command", async () => {
    const runner = new RecordingRunner();
    const result = await new PeerProgrammer(runner, target).install(["x; rm -rf /", "AAAA"]);
    expect(result.done).toEqual([]);
    expect(result.failed.map((f) => f.reason)).toEqual([
      "not a canonical WireGuard public key",
      "not a canonical WireGuard public key",
    ]);
    expect(runner.calls).toEqual([]);
  });
});

describe("provisioning at the command boundary", () => {
  it("creates a kernel WireGuard domain from scratch, in order, with batman-adv and bridge", async () => {
    const t = testSetup({ domainExtra: "" });
    const config = {
      ...t.config,
      domains: [
        {
          ...t.config.domains[0]!,
          batman: {
            enabled: true,
            routing_algo: "BATMAN_V" as const,
            gw_mode: "server" as const,
            throughput_override: "1000mbit",
            hop_penalty: 15,
            bridge: true,
          },
        },
      ],
    };
    const d = config.domains[0]!;
    const runner = new RecordingRunner();
    runner.on(
      (c) => c.argv[0] === "ip" && c.argv[3] === "link" && c.argv[4] === "show",
      fail("Device does not exist."),
    );
    const own = linkLocal(t.gatewayKey.publicKey, "wgkex");
    const sll = linkLocal(t.staticKey, "wgkex");
    const result = await provisionDomain(runner, config, d, new PeerProgrammer(runner, target), {
      logger: silentLogger,
    });
    expect(result).toEqual({
      created: true,
      withoutPeers: true,
      publicKey: t.gatewayKey.publicKey,
      address: own,
      problems: [],
      batman: true,
      vxlanMac: stableMac(`${t.gatewayKey.publicKey} 4831583`),
    });
    expect(runner.argvs()).toEqual([
      ["ip", "-d", "-j", "link", "show", "dev", "wg-welt"],
      ["ip", "link", "add", "dev", "wg-welt", "type", "wireguard"],
      ["ip", "link", "set", "dev", "wg-welt", "addrgenmode", "none"],
      ["wg", "set", "wg-welt", "private-key", d.private_key_file, "listen-port", "40011"],
      ["ip", "-6", "-j", "addr", "show", "dev", "wg-welt"],
      ["ip", "-6", "addr", "replace", `${own}/128`, "dev", "wg-welt"],
      ["ip", "link", "set", "dev", "wg-welt", "mtu", "1420", "up"],
      ["ip", "-d", "-j", "link", "show", "dev", "vx-welt"],
      [
        "ip",
        "link",
        "add",
        "dev",
        "vx-welt",
        "type",
        "vxlan",
        "id",
        "4831583",
        "local",
        own,
        "dstport",
        "8472",
        "dev",
        "wg-welt",
      ],
      ["ip", "link", "set", "dev", "vx-welt", "address", stableMac(`${t.gatewayKey.publicKey} 4831583`)],
      ["ip", "link", "set", "dev", "vx-welt", "up"],
      ["ip", "-d", "-j", "link", "show", "dev", "bat-welt"],
      ["batctl", "meshif", "bat-welt", "interface", "create", "routing_algo", "BATMAN_V"],
      ["batctl", "meshif", "bat-welt", "interface", "-M", "add", "vx-welt"],
      ["batctl", "hardif", "vx-welt", "throughput_override", "1000mbit"],
      ["batctl", "meshif", "bat-welt", "gw_mode", "server"],
      ["batctl", "meshif", "bat-welt", "hop_penalty", "15"],
      ["ip", "link", "set", "dev", "bat-welt", "up"],
      ["ip", "-d", "-j", "link", "show", "dev", "br-welt"],
      ["ip", "link", "add", "dev", "br-welt", "type", "bridge"],
      ["ip", "link", "set", "dev", "bat-welt", "master", "br-welt"],
      ["ip", "link", "set", "dev", "br-welt", "up"],
      ["wg", "set", "wg-welt", "peer", t.staticKey, "allowed-ips", `${sll}/128`, "endpoint", "192.0.2.2:40011"],
      ["ip", "-6", "-force", "-batch", "-"],
      ["bridge", "-force", "-batch", "-"],
    ]);
  });

  it("reports precisely that batman-adv is missing and keeps WireGuard/VXLAN going", async () => {
    const t = testSetup();
    const config = {
      ...t.config,
      domains: [{ ...t.config.domains[0]!, batman: { ...t.config.domains[0]!.batman, enabled: true } }],
    };
    const runner = new RecordingRunner();
    runner.on((c) => c.argv[4] === "show", fail("Device does not exist."));
    runner.on(["batctl"], fail("Error - failed to create batman-adv interface: Operation not supported"));
    const result = await provisionDomain(runner, config, config.domains[0]!, new PeerProgrammer(runner, target), {
      logger: silentLogger,
    });
    expect(result.problems).toEqual([BATMAN_MISSING]);
    expect(BATMAN_MISSING).toContain("modprobe batman-adv");
    expect(runner.argvs().some((a) => a.includes("vxlan"))).toBe(true);
  });

  it("is idempotent: a second run over existing interfaces creates nothing", async () => {
    const t = testSetup();
    const sim = new SimHost();
    const d = t.config.domains[0]!;
    const p = new PeerProgrammer(sim.runner, target);
    const first = await provisionDomain(sim.runner, t.config, d, p, { logger: silentLogger });
    sim.runner.clear();
    const second = await provisionDomain(sim.runner, t.config, d, p, { logger: silentLogger });
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(sim.runner.argvs().filter((a) => a[1] === "link" && (a[2] === "add" || a[2] === "del"))).toEqual([]);
  });

  it("a migrated gateway: keeps the VXLAN interface's own MAC, and refuses a key file other than the running key", async () => {
    const t = testSetup();
    const d = t.config.domains[0]!;
    const own = linkLocal(t.gatewayKey.publicKey, "wgkex");
    const sim = new SimHost();
    // As wgkex's gateways have them: made by networkd, with the gateway's key and a random MAC.
    sim.links.set("wg-welt", { kind: "wireguard", data: {} });
    const networkdMac = "52:54:00:12:34:56";
    sim.links.set("vx-welt", {
      kind: "vxlan",
      data: { id: 4831583, local6: own, port: 8472, link: "wg-welt" },
      mac: networkdMac,
    });
    sim.runner.on(["wg", "show", "wg-welt", "public-key"], ok(`${t.gatewayKey.publicKey}\n`));
    const p = new PeerProgrammer(sim.runner, target);
    const result = await provisionDomain(sim.runner, t.config, d, p, { logger: silentLogger });
    expect(result.created).toBe(false);
    expect(result.vxlanMac).toBe(networkdMac);
    const writes = sim.runner.argvs().filter((a) => a[0] === "ip" && a[1] === "link");
    expect(writes.some((a) => a.includes("address") || a[2] === "add" || a[2] === "del")).toBe(false);
    // After a reboot the agent makes vx-welt itself: with the MAC it kept, not a new one.
    sim.links.delete("vx-welt");
    sim.runner.clear();
    await provisionDomain(sim.runner, t.config, d, p, { logger: silentLogger, vxlanMac: result.vxlanMac });
    expect(sim.runner.argvs()).toContainEqual(["ip", "link", "set", "dev", "vx-welt", "address", networkdMac]);
    // A remembered value that is no unicast MAC is not used.
    sim.links.delete("vx-welt");
    sim.runner.clear();
    await provisionDomain(sim.runner, t.config, d, p, { logger: silentLogger, vxlanMac: "01:00:5e:00:00:01" });
    expect(sim.runner.argvs()).toContainEqual([
      "ip",
      "link",
      "set",
      "dev",
      "vx-welt",
      "address",
      stableMac(`${t.gatewayKey.publicKey} 4831583`),
    ]);

    const other = keyPair().publicKey;
    sim.runner.clear();
    sim.runner.on(["wg", "show", "wg-welt", "public-key"], ok(`${other}\n`));
    await expect(provisionDomain(sim.runner, t.config, d, p, { logger: silentLogger })).rejects.toThrow(
      `domains.ffmuc_welt.private_key_file ${d.private_key_file} gives public key ${t.gatewayKey.publicKey}, but wg-welt runs with ${other}: setting it would change this gateway's key and break every router's tunnel. copy the gateway's existing key: \`umask 077; wg show wg-welt private-key > ${d.private_key_file}\``,
    );
    expect(sim.runner.argvs().some((a) => a[0] === "wg" && a[1] === "set")).toBe(false);
  });

  it("recreates a VXLAN interface with wrong settings and starts userspace WireGuard as a daemon", async () => {
    const t = testSetup({ extra: "wireguard: { implementation: userspace, command: [wireguard-go, -f] }" });
    const sim = new SimHost();
    sim.links.set("vx-welt", { kind: "vxlan", data: { id: 1, local6: "fe80::9", port: 8472, link: "wg-welt" } });
    const p = new PeerProgrammer(sim.runner, target);
    const result = await provisionDomain(sim.runner, t.config, t.config.domains[0]!, p, { logger: silentLogger });
    expect(result.created).toBe(true);
    const argvs = sim.runner.calls.map((c) => (c.daemon ? ["daemon", ...c.argv] : c.argv));
    expect(argvs).toContainEqual(["daemon", "wireguard-go", "-f", "wg-welt"]);
    expect(argvs).toContainEqual(["ip", "link", "del", "dev", "vx-welt"]);
    expect(sim.links.get("vx-welt")?.data.id).toBe(4831583);
  });
});

describe("runners", () => {
  it("dry run prints exact commands with stdin and runs read-only ones through the inner runner", async () => {
    const lines: string[] = [];
    const inner = new RecordingRunner().on(["wg", "show"], ok("dump"));
    const dry = new DryRunRunner((l) => lines.push(l), inner);
    expect(await dry.run(["wg", "show", "wg-x", "dump"], { readOnly: true })).toEqual(ok("dump"));
    expect(
      await dry.run(["ip", "-6", "-force", "-batch", "-"], { stdin: "route replace fe80::1/128 dev wg-x\n" }),
    ).toEqual(ok());
    expect(await dry.run(["wg", "set", "wg-x", "peer", "a b", "remove"])).toEqual(ok());
    expect(lines).toEqual([
      "ip -6 -force -batch - <<'EOF'\nroute replace fe80::1/128 dev wg-x\nEOF",
      "wg set wg-x peer 'a b' remove",
    ]);
    expect(inner.argvs()).toEqual([["wg", "show", "wg-x", "dump"]]);
  });

  it("execa runner passes argv without a shell, feeds stdin and reports exit codes", async () => {
    const runner = new ExecaRunner();
    expect(await runner.run(["sh", "-c", 'echo "$1"', "sh", "$(not expanded); *"])).toEqual(ok("$(not expanded); *\n"));
    expect((await runner.run(["cat"], { stdin: "hello" })).stdout).toBe("hello");
    expect((await runner.run(["sh", "-c", "echo err >&2; exit 3"])).code).toBe(3);
    const missing = await runner.run(["/nonexistent/binary"]);
    expect(missing.code).toBe(127);
    expect(runner.spawns).toBe(4);
  });
});
