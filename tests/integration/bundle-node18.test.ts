import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createNamespace, destroyNamespace, keyPair, netnsPrerequisites } from "@wgkex-edge/gateway-agent/testing";
import { linkLocal, vniFromDomainSeed } from "@wgkex-edge/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalEdge } from "../../edge/local/serve.ts";
import { REPO_ROOT } from "../../edge/local/serve.ts";
import { randomKey, registerKey, startEdge, TEST_TOKENS, tempDir } from "../support/edge.ts";
import { NODE18, node18 } from "../support/node18.ts";

// The agent bundle on the oldest Node.js it supports (Debian bookworm ships 18.20): the bundle
// that `npm run build -w gateway-agent` makes and the Debian package installs, run by Node 18.
const BUNDLE = path.join(REPO_ROOT, "gateway-agent/dist/wgkex-agent.mjs");
let node = "";

beforeAll(() => {
  execFileSync(process.execPath, [path.join(REPO_ROOT, "gateway-agent/scripts/build.mjs")], { stdio: "ignore" });
  node = node18();
}, 180_000);

const agent = (args: string[], input?: string) =>
  spawnSync(node, [BUNDLE, ...args], { encoding: "utf8", ...(input === undefined ? {} : { input }) });

function gatewayConfig(dir: string, extra: { edgeUrl?: string; netns?: string; domain?: string } = {}) {
  const key = keyPair();
  writeFileSync(path.join(dir, "wg.key"), `${key.privateKey}\n`, { mode: 0o600 });
  writeFileSync(path.join(dir, "token"), `${TEST_TOKENS.gw01}\n`, { mode: 0o600 });
  const domain = extra.domain ?? "ffmuc_welt";
  const file = path.join(dir, "config.yaml");
  writeFileSync(
    file,
    `gateway: gw01
edge: { url: "${extra.edgeUrl ?? "https://broker.example.net"}", token_file: ${dir}/token, backoff_min_ms: 50, backoff_max_ms: 500 }
external_address: gw01.ext.example.net
domain_prefixes: [ffmuc_]
state_dir: ${dir}/state
metrics: { listen: null }
${extra.netns ? `netns: ${extra.netns}\n` : ""}wireguard: { implementation: userspace, command: [wireguard-go, -f] }
domains:
  ${domain}:
    listen_port: 40111
    private_key_file: ${dir}/wg.key
    vni: 4831583
    batman: { enabled: false }
`,
  );
  return { file, key };
}

describe(`the agent bundle on Node ${NODE18.version}`, () => {
  it("is that Node", () => {
    expect(execFileSync(node, ["--version"], { encoding: "utf8" }).trim()).toBe(NODE18.version);
  });

  it("--version and --help", () => {
    const version = agent(["--version"]);
    expect(version.stderr).toBe("");
    expect(version.stdout).toMatch(/^wgkex-agent \d+\.\d+\.\d+\n$/);
    const help = agent(["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("wgkex-agent import-wgkex");
  });

  it("derive and vni", () => {
    const key = randomKey();
    expect(agent(["derive", key]).stdout).toBe(`${key} ${linkLocal(key, "wgkex")}\n`);
    expect(agent(["derive", "--variant", "gluon"], `${key}\n`).stdout).toBe(`${key} ${linkLocal(key, "gluon")}\n`);
    const seed = "cd".repeat(32);
    expect(agent(["vni", seed]).stdout).toBe(`${vniFromDomainSeed(seed)}\n`);
  });

  it("check validates the configuration and inspects the host", () => {
    const { file } = gatewayConfig(tempDir("node18-check"));
    const r = agent(["check", "--config", file]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^ok {3}configuration .*: gateway gw01, 1 domain\(s\)\n/);
    expect(r.stdout).toMatch(/^ok {3}edge\.token_file /m);
    expect([0, 1]).toContain(r.status);
  });

  it("run --dry-run with the shipped example configuration prints the plan, given only the key", () => {
    const dir = tempDir("node18-dry");
    const example = readFileSync(path.join(REPO_ROOT, "gateway-agent/packaging/config.example.yaml"), "utf8");
    const file = path.join(dir, "config.yaml");
    writeFileSync(
      file,
      example.replaceAll("/etc/wgkex-agent/", `${dir}/`).replaceAll("/var/lib/wgkex-agent", `${dir}/state`),
    );
    const missing = agent(["run", "--dry-run", "--config", file]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(`domains.ffmuc_welt.private_key_file ${dir}/wg-welt.key: does not exist`);
    writeFileSync(path.join(dir, "wg-welt.key"), `${keyPair().privateKey}\n`, { mode: 0o600 });
    const r = agent(["run", "--dry-run", "--config", file]); // no token file: a dry run never connects
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ip link add dev wg-welt type wireguard$/m);
    expect(r.stdout).toMatch(/^ip link add dev vx-welt type vxlan id 4831583 /m);
  });
});

// A real edge, a real socket, a real (userspace) WireGuard interface in a network namespace.
const skip = netnsPrerequisites();
describe.skipIf(skip)(`the bundle on Node ${NODE18.version} follows a real edge`, () => {
  const ns = `wgx18-${process.pid}`;
  let edge: LocalEdge | undefined;
  let child: ChildProcess | undefined;

  afterAll(async () => {
    child?.kill("SIGKILL");
    destroyNamespace(ns, ["wg-node18"]);
    await edge?.stop();
  });

  it("installs a registered key and acknowledges it (receipt: installed), then stops on SIGTERM", async () => {
    edge = await startEdge({
      config: { domains: ["ffmuc_node18"], domain_prefixes: ["ffmuc_"], gateways: [{ name: "gw01" }] },
    });
    createNamespace(ns);
    const { file } = gatewayConfig(tempDir("node18-run"), {
      edgeUrl: edge.url.href.replace(/\/$/, ""),
      netns: ns,
      domain: "ffmuc_node18",
    });
    let log = "";
    child = spawn(node, [BUNDLE, "run", "--config", file], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d) => (log += d));
    child.stderr!.on("data", (d) => (log += d));
    const key = randomKey();
    expect((await registerKey(edge.url, "ffmuc_node18", key)).status).toBe(200);
    const receipt = new URL(
      `/api/v1/wg/key/status?domain=ffmuc_node18&public_key=${encodeURIComponent(key)}`,
      edge.url,
    );
    const deadline = Date.now() + 30_000;
    let state: string | undefined;
    while (Date.now() < deadline) {
      const body = (await (await fetch(receipt)).json()) as { gateways?: Array<{ name: string; state: string }> };
      state = body.gateways?.find((g) => g.name === "gw01")?.state;
      if (state === "installed") break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(state, log).toBe("installed");
    const dump = execFileSync("ip", ["netns", "exec", ns, "wg", "show", "wg-node18", "dump"], { encoding: "utf8" });
    expect(dump).toContain(key);
    const exited = new Promise<number | null>((resolve) => child!.on("exit", resolve));
    child.kill("SIGTERM");
    expect(await exited, log).toBe(0);
    expect(existsSync(path.dirname(file))).toBe(true);
  });
});
