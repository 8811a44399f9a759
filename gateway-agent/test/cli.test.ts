import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { linkLocal, vniFromDomainSeed } from "@wgkex-edge/shared";
import { beforeAll, describe, expect, it } from "vitest";
import { checkHost, type HostProbe, kernelModule, realHost } from "../src/check.ts";
import { type CliIO, EXIT, main } from "../src/cli.ts";
import { RecordingRunner } from "../src/commands/recording-runner.ts";
import { fail } from "../src/commands/runner.ts";
import { readState } from "../src/state.ts";
import { FakeEdge, keyPair, publicKeys, SimHost, testSetup } from "../testing/index.ts";

function io(stdin = "", extra: Partial<CliIO> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      stdout: (t: string) => out.push(t),
      stderr: (t: string) => err.push(t),
      readStdin: async () => stdin,
      ...extra,
    },
  };
}

const SEED = "ab".repeat(32);

describe("cli", () => {
  it("derive prints '<key> <link-local>' per key, from arguments or stdin, per variant", async () => {
    const [a, b] = publicKeys(2, 40);
    const x = io();
    expect(await main(["derive", a!, b!], x.io)).toBe(EXIT.ok);
    expect(x.out.join("")).toBe(`${a} ${linkLocal(a!, "wgkex")}\n${b} ${linkLocal(b!, "wgkex")}\n`);
    const y = io(`${a}\n\n${b}\n`);
    expect(await main(["derive", "--variant", "gluon"], y.io)).toBe(EXIT.ok);
    expect(y.out.join("")).toBe(`${a} ${linkLocal(a!, "gluon")}\n${b} ${linkLocal(b!, "gluon")}\n`);
  });

  it("derive names the bad line on stderr and exits non-zero, still printing the good ones", async () => {
    const [a] = publicKeys(1, 41);
    const x = io(`${a}\nnot-a-key\n`);
    expect(await main(["derive"], x.io)).toBe(EXIT.failure);
    expect(x.out.join("")).toBe(`${a} ${linkLocal(a!, "wgkex")}\n`);
    expect(x.err.join("")).toBe(
      'wgkex-agent derive: line 2: "not-a-key" is not a WireGuard public key (44 characters of canonical base64 ending in "=")\n',
    );
  });

  it("vni, usage errors and help", async () => {
    const x = io();
    expect(await main(["vni", SEED], x.io)).toBe(EXIT.ok);
    expect(x.out.join("")).toBe(`${vniFromDomainSeed(SEED, "wgkex")}\n`);
    const g = io();
    expect(await main(["vni", "--variant", "gluon", SEED], g.io)).toBe(EXIT.ok);
    expect(g.out.join("")).toBe(`${vniFromDomainSeed(SEED, "gluon")}\n`);
    expect(await main(["vni", "xyz"], io().io)).toBe(EXIT.failure);
    expect(await main(["derive", "--variant", "nope"], io().io)).toBe(EXIT.usage);
    expect(await main(["frobnicate"], io().io)).toBe(EXIT.usage);
    expect(await main(["--bogus"], io().io)).toBe(EXIT.usage);
    const h = io();
    expect(await main(["--help"], h.io)).toBe(EXIT.ok);
    expect(h.out.join("")).toContain("wgkex-agent derive");
  });

  it("a bad configuration exits 3 with the field named", async () => {
    const t = testSetup();
    const path = join(t.dir, "bad.yaml");
    writeFileSync(path, t.yaml.replace("listen_port: 40011", "listen_port: 0"));
    const x = io();
    expect(await main(["check", "--config", path], x.io)).toBe(EXIT.config);
    expect(x.err.join("")).toContain("domains.ffmuc_welt.listen_port: must be a UDP port between 1 and 65535");
  });

  it("check says precisely what is missing on the host and how to get it", async () => {
    const t = testSetup();
    const config = {
      ...t.config,
      domains: [{ ...t.config.domains[0]!, batman: { ...t.config.domains[0]!.batman, enabled: true } }],
    };
    const host: HostProbe = {
      which: (b) => (b === "batctl" ? undefined : `/usr/bin/${b}`),
      exists: (p) => p === "/sys/module/vxlan",
      readFile: (p) => {
        if (p === "/proc/self/status") return "CapEff:\t0000000000000000\n";
        if (p.startsWith("/lib/modules/")) return "kernel/net/ipv4/udp_tunnel.ko:\n";
        return realHost.readFile(p);
      },
      kernelRelease: () => "6.1.0-test",
      uid: () => 1000,
      interfaceKey: () => undefined,
    };
    const failures = checkHost(config, host).filter((i) => !i.ok);
    expect(failures.map((f) => `${f.what}: ${f.detail}`)).toEqual([
      "binary batctl: not found in PATH: install it (`apt install batctl`)",
      "kernel WireGuard: kernel module wireguard not available in kernel 6.1.0-test: use Linux ≥ 5.6 with CONFIG_WIREGUARD, or set wireguard: { implementation: userspace, command: [wireguard-go, -f] } and `apt install wireguard-go`",
      "kernel batman-adv: kernel module batman_adv not available in kernel 6.1.0-test: `modprobe batman-adv` fails; install linux-modules-extra for this kernel or use a kernel with CONFIG_BATMAN_ADV (or set batman.enabled: false for ffmuc_welt)",
      "permissions: neither root nor CAP_NET_ADMIN: run as root or with AmbientCapabilities=CAP_NET_ADMIN (see packaging/wgkex-agent.service)",
    ]);
    expect(kernelModule({ ...host, readFile: () => "kernel/net/batman-adv/batman-adv.ko:\n" }, "batman_adv")).toBe(
      "available",
    );
  });

  it("check on a wgkex gateway: copy the existing private key, never a new one; a different key fails", () => {
    const t = testSetup();
    const running = keyPair();
    const host = (key: string | undefined, file?: string): HostProbe => ({
      ...realHost,
      which: (b) => `/usr/bin/${b}`,
      exists: (p) => p === "/sys/class/net/wg-welt" || p.startsWith("/sys/module/"),
      readFile: (p) => {
        if (p === t.config.domains[0]!.private_key_file) {
          if (file === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`));
          return file;
        }
        return realHost.readFile(p);
      },
      uid: () => 0,
      interfaceKey: (wireguard) => (wireguard === "wg-welt" ? key : undefined),
    });
    const keyItem = (h: HostProbe) => checkHost(t.config, h).find((i) => i.what.startsWith("domains.ffmuc_welt"))!;
    const keyFile = t.config.domains[0]!.private_key_file;

    const missing = keyItem(host(running.publicKey));
    expect(missing.ok).toBe(false);
    expect(missing.detail).toContain(
      `wg-welt exists: copy the gateway's existing key: \`umask 077; wg show wg-welt private-key > ${keyFile}\``,
    );
    expect(missing.detail).toContain(
      "a new key would change this gateway's public key and break every router's tunnel",
    );
    expect(missing.detail).not.toContain("genkey");

    const other = keyItem(host(running.publicKey, `${t.gatewayKey.privateKey}\n`));
    expect(other.ok).toBe(false);
    expect(other.detail).toBe(
      `gives public key ${t.gatewayKey.publicKey}, but wg-welt runs with ${running.publicKey}: the agent would replace the gateway's key and break every router's tunnel; copy the gateway's existing key: \`umask 077; wg show wg-welt private-key > ${keyFile}\` (or the PrivateKeyFile= of its systemd-networkd .netdev); a new key would change this gateway's public key and break every router's tunnel`,
    );

    const same = keyItem(host(running.publicKey, `${running.privateKey}\n`));
    expect(same).toEqual({
      ok: true,
      what: `domains.ffmuc_welt.private_key_file: public key ${running.publicKey} (the key wg-welt runs with)`,
    });
    // A new gateway (no interface): generating a key is right.
    const fresh = keyItem({ ...host(undefined), exists: () => false });
    expect(fresh.detail).toContain(`on a new gateway create it: \`umask 077; wg genkey > ${keyFile}\``);
  });

  it("check on this machine: userspace config passes except batman-adv, which it reports precisely", async () => {
    const t = testSetup({ extra: "wireguard: { implementation: userspace }" });
    const path = join(t.dir, "c.yaml");
    writeFileSync(
      path,
      t.yaml
        .replace("wireguard: { implementation: userspace }", "wireguard: { implementation: userspace }")
        .replace("batman: { enabled: false }", "batman: { enabled: true }"),
    );
    const x = io();
    const code = await main(["check", "--config", path], x.io);
    const text = x.out.join("");
    if (kernelModule(realHost, "batman_adv") === "missing") {
      expect(code).toBe(EXIT.failure);
      expect(text).toMatch(
        /^FAIL kernel batman-adv: kernel module batman_adv not available in kernel \S+: `modprobe batman-adv` fails/m,
      );
    } else {
      expect(text).toMatch(/^ok {3}kernel batman-adv/m);
    }
    expect(text).toMatch(/^ok {3}configuration /m);
    expect(text).toContain(`ok   domains.ffmuc_welt.private_key_file: public key ${t.gatewayKey.publicKey}`);
  });

  it("provision --dry-run prints the exact commands and changes nothing", async () => {
    const t = testSetup();
    const path = join(t.dir, "c.yaml");
    writeFileSync(path, t.yaml);
    const inner = new RecordingRunner().on(() => true, fail("Device does not exist."));
    const x = io("", { runner: inner });
    expect(await main(["provision", "--dry-run", "--config", path], x.io)).toBe(EXIT.ok);
    const own = linkLocal(t.gatewayKey.publicKey, "wgkex");
    const printed = x.out.join("");
    expect(printed).toContain("ip link add dev wg-welt type wireguard\n");
    expect(printed).toContain(`ip -6 addr replace ${own}/128 dev wg-welt\n`);
    expect(printed).toContain(`ip link add dev vx-welt type vxlan id 4831583 local ${own} dstport 8472 dev wg-welt\n`);
    expect(printed).toContain("ip -6 -force -batch - <<'EOF'\nroute replace ");
    // only read-only commands reached the real runner
    expect(inner.argvs().every((a) => a.includes("show") || a.includes("-j"))).toBe(true);
    expect(existsSync(join(t.dir, "state"))).toBe(false);
  });

  it("run: follows the edge, and on SIGTERM finishes, writes state and closes with 1000", async () => {
    const edge = await FakeEdge.start();
    try {
      const keys = publicKeys(20, 43);
      edge.record(keys.map((key) => ({ key })));
      const t = testSetup({ edgeUrl: edge.url });
      const path = join(t.dir, "c.yaml");
      writeFileSync(path, t.yaml);
      const sim = new SimHost();
      let signal!: (s: string) => void;
      const x = io("", { runner: sim.runner, waitForSignal: () => new Promise((r) => (signal = r)) });
      const done = main(["run", "--config", path], x.io);
      await edge.until(() => edge.acks().some((a) => a.seq === 20));
      signal("SIGTERM");
      expect(await done).toBe(EXIT.ok);
      expect(edge.closes).toEqual([1000]);
      expect(readState(t.config.state_dir, "ffmuc_welt")).toMatchObject({ applied_seq: 20, peers: 21 });
      const logs = x.err
        .join("")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { level: string; msg: string; ts: string });
      expect(logs.every((l) => typeof l.ts === "string" && typeof l.msg === "string")).toBe(true);
      expect(logs.map((l) => l.msg)).toContain("stopping");
      expect(x.err.join("")).not.toContain("secret-token");
    } finally {
      await edge.close();
    }
  });

  it("status prints a per-domain table from the state directory", async () => {
    const t = testSetup();
    const path = join(t.dir, "c.yaml");
    writeFileSync(path, t.yaml);
    const x = io();
    expect(await main(["status", "--config", path], x.io)).toBe(EXIT.ok);
    expect(x.out.join("")).toMatch(
      /^DOMAIN\s+INTERFACE\s+PEERS\s+CONNECTED\s+COUNTED\s+APPLIED\s+HEAD\s+LAG\s+LAST SYNC\s+EDGE\nffmuc_welt\s+wg-welt\s+-/,
    );
    // No interfaces on this host: the MTU chain is what provisioning will make.
    expect(x.out.join("")).toMatch(
      /\nMTU\s+WIREGUARD\s+VXLAN\s+BATMAN.*\nffmuc_welt\s+wg-welt 1420\s+vx-welt 1350\s+-\s+-\s+configuration\n$/,
    );
  });
});

describe("the bundle runs on the system Node.js", () => {
  const root = join(import.meta.dirname, "..");
  const bundle = join(root, "dist/wgkex-agent.mjs");
  // `npm test` puts node@22 first in PATH; the gateway's Node is the system one.
  const systemNode = ["/usr/bin/node", "/usr/local/bin/node"].find((p) => existsSync(p));

  beforeAll(() => {
    execFileSync(process.execPath, [join(root, "scripts/build.mjs")], { stdio: "ignore" });
  }, 60_000);

  it.skipIf(!systemNode)("derive, vni and check --config work with the system node", () => {
    const version = execFileSync(systemNode!, ["--version"], { encoding: "utf8" }).trim();
    expect(Number(/^v(\d+)/.exec(version)![1])).toBeGreaterThanOrEqual(18);
    const [a] = publicKeys(1, 42);
    expect(execFileSync(systemNode!, [bundle, "derive", a!], { encoding: "utf8" })).toBe(
      `${a} ${linkLocal(a!, "wgkex")}\n`,
    );
    expect(execFileSync(systemNode!, [bundle, "vni", SEED], { encoding: "utf8" })).toBe(`${vniFromDomainSeed(SEED)}\n`);
    const t = testSetup();
    const path = join(t.dir, "c.yaml");
    writeFileSync(path, t.yaml);
    const r = spawnSync(systemNode!, [bundle, "check", "--config", path], { encoding: "utf8" });
    expect(r.stdout).toMatch(/^ok {3}configuration /m);
    expect(r.stderr).toBe("");
    expect([0, 1]).toContain(r.status);
    const bad = spawnSync(systemNode!, [bundle, "derive"], { input: "nope\n", encoding: "utf8" });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("line 1");
  });
});
