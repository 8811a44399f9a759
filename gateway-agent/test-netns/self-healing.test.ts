import { rmSync, writeFileSync } from "node:fs";
import { linkLocal } from "@wgkex-edge/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Agent, ExecaRunner, memoryLogger, netnsRunner, parseConfig, startAgent } from "../src/index.ts";
import {
  createNamespace,
  destroyNamespace,
  FakeEdge,
  inNs,
  keyPair,
  netnsPrerequisites,
  publicKeys,
  tempDir,
} from "../testing/index.ts";

const skip = netnsPrerequisites();
const ns = `wgxh-${process.pid}`;
const suffix = `h${process.pid % 1_000_000}`;
const wgIf = `wg-${suffix}`;
const vxIf = `vx-${suffix}`;

async function poll(what: string, done: () => boolean, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  while (!done()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - started;
}

const tryNs = (argv: string[]): string => {
  try {
    return inNs(ns, argv);
  } catch {
    return "";
  }
};

describe.skipIf(skip !== undefined)(
  "self-healing on wireguard-go, driven by real host events (ip monitor, bridge monitor)",
  () => {
    const dir = tempDir();
    const gw = keyPair();
    const keys = publicKeys(50, 120);
    const logger = memoryLogger();
    let edge: FakeEdge;
    let agent: Agent;

    /** Every key with its peer, route and FDB entry; the interface with the gateway's key and address. */
    const whole = (): boolean => {
      const allowed = tryNs(["wg", "show", wgIf, "allowed-ips"]);
      const routes = tryNs(["ip", "-6", "route", "show", "dev", wgIf]);
      const fdb = tryNs(["bridge", "fdb", "show", "dev", vxIf]);
      return (
        tryNs(["wg", "show", wgIf, "public-key"]).trim() === gw.publicKey &&
        tryNs(["ip", "-6", "addr", "show", "dev", wgIf]).includes(linkLocal(gw.publicKey, "wgkex")) &&
        keys.every((k) => {
          const ll = linkLocal(k, "wgkex");
          return allowed.includes(`${k}\t${ll}/128`) && routes.includes(ll) && fdb.includes(`dst ${ll} `);
        })
      );
    };
    const provisions = () => logger.records.filter((r) => r.msg === "domain provisioned").length;

    beforeAll(async () => {
      createNamespace(ns);
      edge = await FakeEdge.start();
      writeFileSync(`${dir}/gw.key`, `${gw.privateKey}\n`, { mode: 0o600 });
      writeFileSync(`${dir}/token`, "t\n");
      const config = parseConfig(`gateway: gw01
edge: { url: "${edge.url}", token_file: ${dir}/token, backoff_min_ms: 20, backoff_max_ms: 200 }
external_address: gw01.example.net
domain_prefixes: [ffmuc_]
state_dir: ${dir}/state
metrics: { listen: null }
wireguard: { implementation: userspace }
reports: { link_debounce_ms: 200 }
domains:
  ffmuc_welt:
    listen_port: 40013
    private_key_file: ${dir}/gw.key
    vni: 4831583
    interface_suffix: ${suffix}
    batman: { enabled: false }
`);
      edge.record(keys.map((key) => ({ key })));
      agent = await startAgent(config, {
        runner: netnsRunner(new ExecaRunner(), ns),
        logger,
        timers: false,
        linkEvents: true,
      });
      await edge.until(() => edge.acks().some((a) => a.seq === keys.length), 30_000);
      await poll("every peer installed", whole);
    });
    afterAll(async () => {
      await agent?.stop();
      await edge?.close();
      destroyNamespace(ns, [wgIf]);
      rmSync(dir, { recursive: true, force: true });
    });

    it("wg interface deleted (wireguard-go exits, the VXLAN interface goes with it): back with every peer, no periodic reconcile needed", async () => {
      const before = provisions();
      inNs(ns, ["ip", "link", "del", wgIf]);
      const ms = await poll("the interfaces and every peer back", whole);
      console.log(`netns: wg interface deleted → provisioned and ${keys.length} peers back after ${ms} ms`);
      expect(provisions()).toBe(before + 1);
    });

    it("recreated empty by someone else (as systemd-networkd would): provisioned into it, every peer back", async () => {
      inNs(ns, ["ip", "link", "del", wgIf]);
      rmSync(`/var/run/wireguard/${wgIf}.sock`, { force: true });
      inNs(ns, ["wireguard-go", wgIf]); // forks into the background, like a daemon networkd would start
      inNs(ns, ["ip", "link", "set", wgIf, "up"]);
      const ms = await poll("the interfaces and every peer back", whole);
      console.log(`netns: wg interface recreated empty → provisioned and ${keys.length} peers back after ${ms} ms`);
    });

    it("the FDB flushed, a route deleted by hand: back at once through the FDB and route events", async () => {
      inNs(ns, ["bridge", "fdb", "flush", "dev", vxIf]);
      const ll = linkLocal(keys[3]!, "wgkex");
      inNs(ns, ["ip", "-6", "route", "del", `${ll}/128`, "dev", wgIf]);
      const ms = await poll("the FDB entries and the route back", whole);
      console.log(`netns: FDB flushed and a route deleted → back after ${ms} ms`);
    });

    it("settles: the agent's own provisioning events cause no further provisioning", async () => {
      const settled = provisions();
      await new Promise((r) => setTimeout(r, 2000));
      await agent.idle();
      expect(provisions()).toBe(settled);
      expect(whole()).toBe(true);
    });

    it("a peer removed by hand (no link event) comes back with the next reconcile", async () => {
      inNs(ns, ["wg", "set", wgIf, "peer", keys[7]!, "remove"]);
      const report = await agent.domains.get("ffmuc_welt")!.reconcile();
      expect(report.reconcile?.plan.installPeers).toEqual([keys[7]]);
      expect(whole()).toBe(true);
    });
  },
);
