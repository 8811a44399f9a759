import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AGENT_VERSION, startAgent } from "../src/agent.ts";
import { EXIT, main } from "../src/cli.ts";
import { fail } from "../src/commands/runner.ts";
import { memoryLogger } from "../src/log.ts";
import { emptyState, readState, writeState } from "../src/state.ts";
import { statusTable } from "../src/status.ts";
import { FakeEdge, publicKeys, SimHost, testSetup } from "../testing/index.ts";

function io(extra: Record<string, unknown> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), readStdin: async () => "", ...extra },
  };
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("--version", () => {
  it("prints the package's version, and -V too", async () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "../package.json"), "utf8")) as { version: string };
    expect(AGENT_VERSION).toBe(pkg.version);
    for (const flag of ["--version", "-V"]) {
      const x = io();
      expect(await main([flag], x.io)).toBe(EXIT.ok);
      expect(x.out.join("")).toBe(`wgkex-agent ${pkg.version}\n`);
    }
  });
});

describe("run --dry-run without secrets on disk", () => {
  it("names every missing private key and how to create it, in plain text, and runs nothing", async () => {
    const t = testSetup();
    rmSync(join(t.dir, "wg-welt.key"));
    rmSync(join(t.dir, "token")); // not needed for a plan: a dry run never connects
    const path = join(t.dir, "c.yaml");
    writeFileSync(path, t.yaml);
    const sim = new SimHost();
    const x = io({ runner: sim.runner });
    expect(await main(["run", "--dry-run", "--config", path], x.io)).toBe(EXIT.failure);
    expect(x.err.join("")).toBe(
      "wgkex-agent: a dry run needs each domain's private key to plan its addresses; missing:\n" +
        `  - domains.ffmuc_welt.private_key_file ${t.dir}/wg-welt.key: does not exist (migrating a running gateway: copy the gateway's existing key: \`umask 077; wg show wg-welt private-key > ${t.dir}/wg-welt.key\` (or the PrivateKeyFile= of its systemd-networkd .netdev); a new gateway: \`umask 077; wg genkey > ${t.dir}/wg-welt.key\`)\n`,
    );
    expect(sim.runner.calls).toEqual([]);
  });

  it("plans with the key present and no token file", async () => {
    const t = testSetup();
    rmSync(join(t.dir, "token"));
    const path = join(t.dir, "c.yaml");
    writeFileSync(path, t.yaml);
    const sim = new SimHost();
    const x = io({ runner: sim.runner });
    expect(await main(["run", "--dry-run", "--config", path], x.io)).toBe(EXIT.ok);
    expect(x.out.join("")).toContain("ip link add dev wg-welt");
  });

  it("plans a userspace gateway without waiting for a wireguard-go it never started", async () => {
    const t = testSetup({ extra: "wireguard: { implementation: userspace, command: [wireguard-go, -f] }" });
    const path = join(t.dir, "c.yaml");
    writeFileSync(path, t.yaml);
    const sim = new SimHost();
    const x = io({ runner: sim.runner });
    expect(await main(["run", "--dry-run", "--config", path], x.io)).toBe(EXIT.ok);
    const plan = x.out.join("");
    // The daemon is part of the plan, and so is everything after it: the key, the address, the peers.
    expect(plan).toContain("wireguard-go -f wg-welt &\n");
    expect(plan.slice(plan.indexOf("wireguard-go"))).toMatch(/wg set wg-welt private-key /);
    expect(x.err.join("")).not.toContain("did not bring up");
    // wg-welt does not exist on the host, so nothing asked for its key: no polling for a daemon.
    const polls = sim.runner.calls.filter((c) => c.argv.join(" ") === "wg show wg-welt public-key");
    expect(polls).toEqual([]);
  });
});

describe("status counts are the kernel's", () => {
  it("status reads the counts from `wg show … dump`, not from a stale state file", async () => {
    const t = testSetup();
    const path = join(t.dir, "c.yaml");
    writeFileSync(path, t.yaml);
    writeState(t.config.state_dir, "ffmuc_welt", { ...emptyState(), applied_seq: 7, head: 7, peers: 2, counts_at: 1 });
    const sim = new SimHost();
    sim.runner.use((call) =>
      call.argv.join(" ") === "wg show wg-welt dump"
        ? {
            code: 0,
            stdout: `priv\tpub\t40011\toff\n${publicKeys(3, 77)
              .map(
                (k, i) =>
                  `${k}\t(none)\t(none)\tfe80::${i + 1}/128\t${i === 0 ? Math.floor(Date.now() / 1000) : 0}\t0\t0\toff`,
              )
              .join("\n")}\n`,
            stderr: "",
          }
        : undefined,
    );
    const x = io({ runner: sim.runner });
    expect(await main(["status", "--config", path], x.io)).toBe(EXIT.ok);
    expect(x.out.join("")).toMatch(/^DOMAIN\s+INTERFACE\s+PEERS\s+CONNECTED\s+COUNTED\s+APPLIED/);
    expect(x.out.join("")).toMatch(/\nffmuc_welt\s+wg-welt\s+3\s+1\s+kernel\s+7\s+7\s+0\s/);
  });

  it("without access to the kernel it shows the recorded counts and how old they are", async () => {
    const t = testSetup();
    writeState(t.config.state_dir, "ffmuc_welt", { ...emptyState(), peers: 2, connected: 1, counts_at: 1_000 });
    expect(statusTable(t.config, 46_000)).toMatch(/\nffmuc_welt\s+wg-welt\s+2\s+1\s+45s ago\s/);
    const path = join(t.dir, "c.yaml");
    writeFileSync(path, t.yaml);
    const sim = new SimHost();
    sim.runner.use((call) =>
      call.argv[0] === "wg" ? fail("Unable to access interface: Operation not permitted") : undefined,
    );
    const x = io({ runner: sim.runner });
    expect(await main(["status", "--config", path], x.io)).toBe(EXIT.ok);
    expect(x.out.join("")).toMatch(/\nffmuc_welt\s+wg-welt\s+2\s+1\s+\d+s ago\s/);
  });

  it("after installing, the state file and the edge's load report carry the kernel's count", async () => {
    const edge = await FakeEdge.start();
    cleanups.push(() => edge.close());
    const keys = publicKeys(3, 91);
    edge.record(keys.map((key) => ({ key })));
    const t = testSetup({ edgeUrl: edge.url });
    const sim = new SimHost();
    const agent = await startAgent(t.config, { runner: sim.runner, logger: memoryLogger(), timers: false });
    cleanups.push(() => agent.stop());
    await edge.until(() => edge.acks().length > 0);
    await agent.idle();
    expect(sim.peers.size).toBe(4); // three nodes and the static peer
    const state = readState(t.config.state_dir, "ffmuc_welt")!;
    expect(state.peers).toBe(4);
    expect(state.counts_at).toBeGreaterThan(0);
    await edge.until(() => edge.ofType("load").some((l) => l.peers === 3));
  });
});
