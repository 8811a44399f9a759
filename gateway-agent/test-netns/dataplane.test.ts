import { rmSync, writeFileSync } from "node:fs";
import { linkLocal } from "@wgkex-edge/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Agent,
  type Clock,
  ExecaRunner,
  netnsRunner,
  parseConfig,
  silentLogger,
  startAgent,
} from "../src/index.ts";
import {
  createNamespace,
  destroyNamespace,
  inNs,
  keyPair,
  netnsPrerequisites,
  publicKeys,
  tempDir,
} from "../testing/index.ts";

const skip = netnsPrerequisites();
const ns = `wgxa-${process.pid}`;
const suffix = `a${process.pid % 1_000_000}`;
const wgIf = `wg-${suffix}`;
const vxIf = `vx-${suffix}`;

let now = Date.parse("2026-11-26T00:00:00Z");
const fakeClock: Clock = {
  now: () => now,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

describe.skipIf(skip !== undefined)("real data plane in a network namespace (wireguard-go, kernel VXLAN)", () => {
  const dir = tempDir();
  const gw = keyPair();
  const staticKey = keyPair().publicKey;
  let agent: Agent;
  let config: ReturnType<typeof parseConfig>;
  const runner = netnsRunner(new ExecaRunner(), ns);

  beforeAll(async () => {
    createNamespace(ns);
    writeFileSync(`${dir}/gw.key`, `${gw.privateKey}\n`, { mode: 0o600 });
    writeFileSync(`${dir}/token`, "t\n");
    config = parseConfig(`gateway: gw01
edge: { url: "http://127.0.0.1:9", token_file: ${dir}/token }
external_address: gw01.example.net
domain_prefixes: [ffmuc_]
state_dir: ${dir}/state
metrics: { listen: null }
wireguard: { implementation: userspace, command: [wireguard-go, -f] }
cleanup: { stale_after_s: 10800, grace_s: 600 }
domains:
  ffmuc_welt:
    listen_port: 40011
    private_key_file: ${dir}/gw.key
    vni: 4831583
    interface_suffix: ${suffix}
    batman: { enabled: false }
    static_peers:
      - { name: gw02, public_key: "${staticKey}", endpoint: "192.0.2.2:40011" }
`);
    agent = await startAgent(config, { runner, logger: silentLogger, connect: false, timers: false, clock: fakeClock });
    await agent.idle();
  });

  afterAll(async () => {
    try {
      agent?.kill();
    } finally {
      destroyNamespace(ns);
      rmSync(`/var/run/wireguard/${wgIf}.sock`, { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const dump = () => inNs(ns, ["wg", "show", wgIf, "dump"]).trim().split("\n").slice(1);
  const routes = () =>
    (JSON.parse(inNs(ns, ["ip", "-6", "-j", "route", "show", "dev", wgIf])) as Array<{ dst: string }>).map(
      (r) => r.dst,
    );
  const fdb = () =>
    (JSON.parse(inNs(ns, ["bridge", "-j", "fdb", "show", "dev", vxIf])) as Array<{ mac: string; dst?: string }>)
      .filter((e) => e.mac === "00:00:00:00:00:00")
      .map((e) => e.dst);
  const domain = () => agent.domains.get("ffmuc_welt")!;

  it("provisions wg-/vx- with the derived address, addrgenmode none, VNI, static peer", () => {
    const own = linkLocal(gw.publicKey, "wgkex");
    const link = JSON.parse(inNs(ns, ["ip", "-d", "-j", "addr", "show", "dev", wgIf]))[0];
    expect(JSON.parse(inNs(ns, ["ip", "-d", "-j", "link", "show", "dev", wgIf]))[0].inet6_addr_gen_mode).toBe("none");
    expect(link.mtu).toBe(1420);
    expect(link.addr_info.map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`)).toEqual([
      `${own}/128`,
    ]);
    const vx = JSON.parse(inNs(ns, ["ip", "-d", "-j", "link", "show", "dev", vxIf]))[0];
    expect(vx.linkinfo.info_data).toMatchObject({ id: 4831583, local6: own, port: 8472, link: wgIf });
    expect(inNs(ns, ["wg", "show", wgIf, "public-key"]).trim()).toBe(gw.publicKey);
    expect(inNs(ns, ["wg", "show", wgIf, "listen-port"]).trim()).toBe("40011");
    const sll = linkLocal(staticKey, "wgkex");
    expect(dump()).toEqual([`${staticKey}\t(none)\t192.0.2.2:40011\t${sll}/128\t0\t0\t0\toff`]);
    expect(routes()).toContain(sll);
    expect(fdb()).toEqual([sll]);
    expect(domain().provisioned?.created).toBe(true);
  });

  it("provisioning again changes nothing and reuses the running wireguard-go", async () => {
    const again = await domain().provision();
    expect(again.created).toBe(false);
    expect(again.problems).toEqual([]);
  });

  const keys = publicKeys(2000, 77);
  it("installs 2,000 peers in one batch: a handful of spawns, all in wg dump, routes and FDB", async () => {
    const spawns = runner.spawns;
    const t0 = performance.now();
    const result = await domain().programmer.install(keys);
    const ms = performance.now() - t0;
    expect(result.failed).toEqual([]);
    expect(runner.spawns - spawns).toBe(3);
    const peers = dump();
    expect(peers).toHaveLength(2001);
    const byKey = new Map(peers.map((l) => [l.split("\t")[0], l.split("\t")[3]]));
    for (const k of keys) expect(byKey.get(k)).toBe(`${linkLocal(k, "wgkex")}/128`);
    const r = new Set(routes());
    const f = new Set(fdb());
    for (const k of keys) {
      expect(r.has(linkLocal(k, "wgkex"))).toBe(true);
      expect(f.has(linkLocal(k, "wgkex"))).toBe(true);
    }
    console.log(`netns: 2000 peers batched: ${runner.spawns - spawns} spawns, ${ms.toFixed(0)} ms`);
  });

  it("one-by-one for comparison (100 peers) costs 3 spawns per key", async () => {
    const few = publicKeys(100, 78);
    const spawns = runner.spawns;
    const t0 = performance.now();
    for (const k of few) await domain().programmer.install([k]);
    const ms = performance.now() - t0;
    expect(runner.spawns - spawns).toBe(300);
    console.log(`netns: 100 peers one by one: 300 spawns, ${ms.toFixed(0)} ms (${(ms / 100).toFixed(1)} ms/key)`);
    await domain().programmer.remove(few);
  });

  it("reconcile repairs a deleted route and FDB entry and removes our orphans, never foreign entries", async () => {
    const k = keys[5]!;
    const ll = linkLocal(k, "wgkex");
    inNs(ns, ["ip", "-6", "route", "del", `${ll}/128`, "dev", wgIf]);
    inNs(ns, ["bridge", "fdb", "del", "00:00:00:00:00:00", "dev", vxIf, "dst", ll, "via", wgIf]);
    inNs(ns, ["ip", "-6", "route", "add", "fe80::dead/128", "dev", wgIf]); // orphan we own
    inNs(ns, ["ip", "-6", "route", "add", "2001:db8:1::/64", "dev", wgIf]); // foreign
    inNs(ns, ["bridge", "fdb", "append", "00:00:00:00:00:00", "dev", vxIf, "dst", "fe80::beef", "via", wgIf]);
    const report = await domain().reconcile();
    const p = report.reconcile?.plan;
    expect(p?.addRoutes).toEqual([ll]);
    expect(p?.addFdb).toEqual([ll]);
    expect(p?.delRoutes).toEqual(["fe80::dead"]);
    expect(p?.delFdb).toEqual(["fe80::beef"]);
    expect(report.reconcile?.failed).toEqual([]);
    const r = routes();
    expect(r).toContain(ll);
    expect(r).not.toContain("fe80::dead");
    expect(r).toContain("2001:db8:1::/64");
    expect(fdb()).toContain(ll);
    expect(fdb()).not.toContain("fe80::beef");
    // a second reconcile finds nothing to do; the peers installed here by hand (not given by
    // an edge) are foreign: kept, with their routes and FDB entries
    const second = await domain().reconcile();
    expect(second.reconcile).toEqual({
      plan: {
        installPeers: [],
        repairStatic: [],
        addRoutes: [],
        addFdb: [],
        delRoutes: [],
        delFdb: [],
        foreign: expect.arrayContaining([k]),
      },
      failed: [],
    });
  });

  it("removes peers in the order FDB → route → peer", async () => {
    const gone = keys.slice(0, 100);
    const result = await domain().programmer.remove(gone);
    expect(result.failed).toEqual([]);
    expect(dump()).toHaveLength(1901);
    const r = new Set(routes());
    for (const k of gone) expect(r.has(linkLocal(k, "wgkex"))).toBe(false);
    // removing again: "not found" is success
    expect((await domain().programmer.remove(gone.slice(0, 3))).failed).toEqual([]);
  });

  it("stale cleanup with a fake clock: grace for never-handshaked peers, static peers untouched", async () => {
    await domain().cleanup(); // first sight of peers installed outside a batch
    now += 599_000;
    expect((await domain().cleanup()).cleanup).toEqual({ removed: [], failed: [] });
    now += 2_000;
    const { removed, failed } = (await domain().cleanup()).cleanup!;
    expect(removed).toHaveLength(1900);
    expect(failed).toEqual([]);
    expect(dump()).toEqual([expect.stringMatching(new RegExp(`^${staticKey.replace(/[+/]/g, "\\$&")}\\t`))]);
    expect(routes().filter((d) => d.startsWith("fe80::") && d !== linkLocal(gw.publicKey, "wgkex"))).toEqual([
      linkLocal(staticKey, "wgkex"),
    ]);
    expect(fdb()).toEqual([linkLocal(staticKey, "wgkex")]);
  });

  it("10,000 peers batched on wireguard-go", async () => {
    const many = publicKeys(10_000, 79);
    const spawns = runner.spawns;
    const t0 = performance.now();
    const result = await domain().programmer.install(many);
    const ms = performance.now() - t0;
    expect(result.failed).toEqual([]);
    expect(runner.spawns - spawns).toBe(6);
    expect(dump()).toHaveLength(10_001);
    const t1 = performance.now();
    const report = await domain().reconcile();
    const reconcileMs = performance.now() - t1;
    expect(report.reconcile?.plan.addRoutes).toEqual([]);
    console.log(
      `netns: 10000 peers batched: 6 spawns, ${ms.toFixed(0)} ms; reconcile at 10001 peers: ${reconcileMs.toFixed(0)} ms`,
    );
    const t2 = performance.now();
    await domain().programmer.remove(many);
    console.log(`netns: 10000 peers removed: ${(performance.now() - t2).toFixed(0)} ms`);
    expect(dump()).toHaveLength(1);
  });
});
