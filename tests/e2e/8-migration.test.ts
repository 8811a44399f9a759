/**
 * Migration from wgkex without an outage, step by step as docs/migration.md tells it:
 * a wgkex gateway pair with routers pinging across the overlay → start the agents (they
 * adopt every live router) → the edge knows every router → switch the broker name → some
 * tunnels break and re-register → retire wgkex's worker → reboot a gateway (everything comes
 * back from the edge) → roll back to wgkex. Throughout, a router loses pings only while its
 * own tunnel is really down.
 */
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertInstalledOnce, waitInstalled } from "./support/check.ts";
import { PING_INTERVAL_S, Pinger } from "./support/pinger.ts";
import { e2eSkip } from "./support/prerequisites.ts";
import { GATEWAY_OVERLAY, overlayAddress, WgkexWorkers, wgkexInterfaces } from "./support/wgkex.ts";
import {
  ADMIN_TOKEN,
  DOMAIN,
  GATEWAY_PORT,
  type Gateway,
  genKeyPair,
  inNs,
  type Node,
  type Receipt,
  run,
  until,
  World as W,
  type World,
} from "./support/world.ts";

const skip = e2eSkip();

describe.skipIf(skip !== undefined)("8. migration from wgkex without an outage", () => {
  let world: World;
  let gw1: Gateway;
  let gw2: Gateway;
  let wgkex: WgkexWorkers;
  const routers: Node[] = [];
  const pingers = new Map<Node, Pinger>();
  /** Which gateway each router's tunnel goes to. */
  const behind = new Map<Node, Gateway>();
  /** When each router's tunnel was really down (router rebooted, its gateway rebooted). */
  const down = new Map<Node, Array<[number, number]>>();
  const ghost = genKeyPair().publicKey; // registered at wgkex, never connected
  const timings: string[] = [];
  let broker: "wgkex" | "edge" = "wgkex";

  beforeAll(async () => {
    // Agents only later: first the gateways as wgkex runs them. Adoption runs with each
    // reconcile pass (every 2 s here, 300 s by default) and at every welcome.
    world = await W.create({ gateways: 2, startAgents: false, agent: { reports: { reconcile_interval_s: 2 } } });
    [gw1, gw2] = [world.gateway("gw01"), world.gateway("gw02")];
    for (const gw of world.gateways) wgkexInterfaces(world, gw);
    wgkex = new WgkexWorkers(world.gateways);
  });
  afterAll(async () => {
    for (const p of pingers.values()) await p.stop();
    await world?.destroy();
  });

  /** The router's tunnel to `gw` (Gluon's client), its overlay address, then pings to the gateway. */
  function connect(node: Node, gw: Gateway): void {
    node.connect({
      Address: gw.externalName,
      Port: String(GATEWAY_PORT),
      PublicKey: gw.publicKey,
      AllowedIPs: [gw.ll],
    });
    inNs(node.ns, [
      "ip",
      "-6",
      "addr",
      "add",
      `fd77:e2e::${100 + routers.indexOf(node)}/64`,
      "dev",
      node.vxIf,
      "nodad",
    ]);
    behind.set(node, gw);
  }

  /** A new router: registers at the current broker and connects; its pings start. */
  async function newRouter(gw: Gateway): Promise<Node> {
    const node = world.addNode();
    routers.push(node);
    down.set(node, []);
    if (broker === "wgkex") wgkex.exchange(node.publicKey);
    else expect((await node.register(1)).status).toBe(200);
    connect(node, gw);
    const pinger = new Pinger(world, node, GATEWAY_OVERLAY);
    pingers.set(node, pinger);
    const t = Date.now();
    pinger.start();
    await until(`${node.name}'s first overlay ping`, () => pinger.answeredSince(t), 30_000);
    return node;
  }

  /** The router reboots: its tunnel is gone until it has asked the broker again and reconnected. */
  async function rebootRouter(node: Node, how: "wgkex" | "edge v1" | "edge v2"): Promise<void> {
    const t0 = Date.now();
    for (const pid of run(["ip", "netns", "pids", node.ns]).stdout.split("\n").filter(Boolean)) {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "wireguard-go") process.kill(Number(pid), "SIGKILL");
    }
    run(["ip", "-n", node.ns, "link", "del", node.vxIf]);
    run(["ip", "-n", node.ns, "link", "del", node.wgIf]);
    run(["rm", "-f", `/var/run/wireguard/${node.wgIf}.sock`]);
    let gw = behind.get(node)!;
    if (how === "wgkex") wgkex.exchange(node.publicKey);
    else if (how === "edge v1") expect((await node.register(1)).status).toBe(200);
    else {
      const endpoint = await node.registerV2();
      gw = world.gateways.find((g) => g.externalName === endpoint.Address)!;
    }
    connect(node, gw);
    await until(`${node.name}'s overlay ping after its reboot`, () => pingers.get(node)!.answeredSince(t0), 30_000);
    down.get(node)!.push([t0, Date.now()]);
    timings.push(`${node.name} rebooted (${how}): tunnel down ${Date.now() - t0} ms`);
  }

  const receipt = async (key: string): Promise<Receipt | undefined> => world.edge.receipt(key);

  /** Every gateway a receipt lists has installed the key, and really has it (peer, route, FDB entry once). */
  async function installedWhereListed(node: Node): Promise<void> {
    const r = await until(
      async () =>
        `${node.name}'s receipt to say installed everywhere: ${JSON.stringify(await receipt(node.publicKey))}`,
      async () => {
        const r = await receipt(node.publicKey);
        return r?.state === "active" && r.gateways.every((g) => g.state === "installed") ? r : undefined;
      },
      20_000,
    );
    for (const g of r.gateways) assertInstalledOnce(world.gateway(g.name), [node.publicKey]);
  }

  it("wgkex as it runs: routers registered at the old broker, every key on every gateway, pings across the overlay", async () => {
    for (let i = 0; i < 6; i++) await newRouter(i < 3 ? gw1 : gw2);
    wgkex.exchange(ghost);
    for (const gw of world.gateways) assertInstalledOnce(gw, [...routers.map((r) => r.publicKey), ghost]);
  });

  it("start the agents: they adopt every live router, the edge learns each one with its origin, nothing is removed", async () => {
    const t0 = Date.now();
    await Promise.all(world.gateways.map((g) => g.start()));
    await world.waitGatewaysOnline();
    const status = await until(
      async () => `6 adopted keys at the edge: ${JSON.stringify(await world.edge.status())}`,
      async () => {
        const s = await world.edge.status();
        return s.adopted_peers === 6 ? s : undefined;
      },
      30_000,
    );
    timings.push(`agents started → the edge knew all 6 routers after ${Date.now() - t0} ms`);
    expect(status.gateways.reduce((n, g) => n + g.adopted, 0)).toBe(6);
    for (const node of routers) {
      await installedWhereListed(node);
      const r = (await receipt(node.publicKey))!;
      expect(r.target).toBe("*");
      expect(r.origin).toMatchObject({ type: "adopted" });
      expect(r.gateways.map((g) => g.name)).toEqual(["gw01", "gw02"]);
    }
    // The never-connected key is not adopted (no handshake) but kept: the stale cleanup decides.
    expect(await receipt(ghost)).toBeUndefined();
    for (const gw of world.gateways) assertInstalledOnce(gw, [...routers.map((r) => r.publicKey), ghost]);
    for (const gw of world.gateways) {
      expect(gw.logTail(200_000)).toMatch(/"msg":"snapshot installed"[^\n]*"removed":0/);
      expect(gw.logTail(200_000)).not.toMatch(/"msg":"snapshot installed"[^\n]*"removed":[1-9]/);
    }
    // What docs/migration.md has operators check: the status page and the admin listing.
    const page = await (await fetch(new URL("/status", world.edge.url))).text();
    expect(page).toContain("6 adopted from gateways");
    const listed = (await (
      await fetch(new URL(`/api/v1/admin/adopted?domain=${DOMAIN}`, world.edge.url), {
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json()) as { entries: Array<{ public_key: string }> };
    expect(listed.entries.map((e) => e.public_key).sort()).toEqual(routers.map((r) => r.publicKey).sort());
  });

  it("side by side: a router whose tunnel breaks asks the old broker again; a new one registers there; both reach the edge", async () => {
    await rebootRouter(routers[2]!, "wgkex");
    const t0 = Date.now();
    const late = await newRouter(gw2);
    await installedWhereListed(late);
    expect((await receipt(late.publicKey))!.origin).toMatchObject({ type: "adopted" });
    timings.push(
      `a router new at wgkex reached the edge (adopted, installed on both) ${Date.now() - t0} ms after it registered`,
    );
  });

  it("switch the broker name to the edge: routers whose tunnel breaks register there (v2 and v1)", async () => {
    broker = "edge";
    await rebootRouter(routers[1]!, "edge v2");
    await rebootRouter(routers[4]!, "edge v1");
    const v2 = (await receipt(routers[1]!.publicKey))!;
    expect(v2.target).toBe(behind.get(routers[1]!)!.name);
    const v1 = (await receipt(routers[4]!.publicKey))!;
    expect([v1.target, v1.origin.type]).toEqual(["*", "adopted"]);
  });

  it("retire the old worker: receipts show every router installed on every gateway they list", async () => {
    wgkex.retire();
    for (const node of routers) await installedWhereListed(node);
    // The v2 router moved to one gateway; every other router is on both.
    for (const node of routers.filter((n) => n !== routers[1])) {
      expect((await receipt(node.publicKey))!.gateways.map((g) => g.name)).toEqual(["gw01", "gw02"]);
    }
  });

  it("reboot a gateway: every router comes back from the edge's snapshot", async () => {
    const mac = () =>
      (JSON.parse(inNs(gw1.ns, ["ip", "-j", "link", "show", gw1.vxIf])) as Array<{ address: string }>)[0]!.address;
    const macBefore = mac();
    const onGw1 = [];
    for (const node of routers)
      if ((await receipt(node.publicKey))!.gateways.some((g) => g.name === "gw01")) onGw1.push(node);
    const t0 = Date.now();
    await gw1.reboot();
    await gw1.start();
    overlayAddress(gw1); // host configuration, as a boot script adds it
    const started = Date.now() - t0;
    const waited = await waitInstalled(
      gw1,
      onGw1.map((n) => n.publicKey),
      30_000,
    );
    const peersBack = Date.now() - t0;
    expect(mac()).toBe(macBefore); // the MAC the wgkex gateway had: routers' neighbour caches stay right
    expect(gw1.peers().has(ghost)).toBe(false); // never adopted: not in the edge's set
    const routersBack: string[] = [];
    for (const node of routers.filter((n) => behind.get(n) === gw1)) {
      await until(
        `${node.name}'s overlay ping after gw01's reboot`,
        () => pingers.get(node)!.answeredSince(Date.now() - 100),
        45_000,
      );
      down.get(node)!.push([t0, Date.now()]);
      routersBack.push(`${node.name} ${Date.now() - t0} ms`);
    }
    timings.push(
      `gw01 rebooted: agent welcomed ${started} ms after the reboot began, the ${onGw1.length} routers' peers back ${peersBack} ms after it (${waited} ms after the welcome); routers' pings back (WireGuard's handshake timeout, ~15 s): ${routersBack.join(", ")}`,
    );
  });

  it("rollback: stop the agents, wgkex's worker again: nothing lost, new routers get in as before", async () => {
    const where = new Map<Node, Gateway[]>();
    for (const node of routers) {
      where.set(
        node,
        (await receipt(node.publicKey))!.gateways.map((g) => world.gateway(g.name)),
      );
    }
    await Promise.all(world.gateways.map((g) => g.stop()));
    wgkex.start();
    broker = "wgkex";
    const late = await newRouter(gw1);
    for (const gw of world.gateways) assertInstalledOnce(gw, [late.publicKey]);
    for (const [node, gws] of where) for (const gw of gws) assertInstalledOnce(gw, [node.publicKey]);
    await new Promise((r) => setTimeout(r, 2000)); // pings keep flowing with the agents gone
  });

  it("pings were lost only while a router's own tunnel was really down", async () => {
    const lines: string[] = [];
    const problems: string[] = [];
    for (const [node, pinger] of pingers) {
      await pinger.stop();
      const s = pinger.summary();
      const windows = down.get(node)!;
      const inWindow = (t: number) => windows.some(([a, b]) => t >= a - 500 && t <= b + 1500);
      const outside = s.lostAt.filter((t) => !inWindow(t));
      const downMs = windows.reduce((n, [a, b]) => n + (b - a), 0);
      lines.push(
        `${node.name}: ${s.sent} pings every ${PING_INTERVAL_S} s, ${s.lostAt.length} lost (${s.lostAt.length - outside.length} while its tunnel was down for ${downMs} ms in ${windows.length} outage(s))`,
      );
      if (outside.length > 0) {
        problems.push(
          `${node.name} lost ${outside.length} ping(s) while its tunnel was up, at ${outside.map((t) => new Date(t).toISOString()).join(", ")}; outages: ${JSON.stringify(windows.map(([a, b]) => [new Date(a).toISOString(), new Date(b).toISOString()]))}\n${pinger.tail()}`,
        );
      }
    }
    console.log(`e2e 8 (migration):\n  ${[...timings, ...lines].join("\n  ")}`);
    expect(problems, world.describe()).toEqual([]);
    expect(readdirSync(world.dir).some((f) => f.endsWith(".ping"))).toBe(true);
  });
});
