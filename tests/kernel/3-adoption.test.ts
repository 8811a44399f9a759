import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pool } from "../e2e/support/check.ts";
import { DOMAIN, GATEWAY_PORT, post, randomKey, until, VNI } from "../e2e/support/world.ts";
import { HOP_PENALTY, IF, NETWORKD_MAC, ROUTING_ALGO } from "./support/constants.ts";
import { attachWorld, kernelSkip } from "./support/suite.ts";
import type { KernelWorld } from "./support/world.ts";

const skip = kernelSkip();
const OURS = [IF.wg, IF.vx, IF.bat, IF.br];

describe.skipIf(skip !== undefined)("3. provisioning adopts interfaces the system already made", () => {
  let world: KernelWorld;
  let failed = false;
  beforeAll(() => {
    world = attachWorld();
  });
  afterAll(async () => {
    if (failed) console.log(await world.gateway.describe());
  });

  it("interfaces made at boot as systemd-networkd makes them: adopted, not recreated, no link goes down; every peer comes back from the edge", async () => {
    failed = true;
    const gw = world.gateway;
    const g = world.guest;
    const keys = Array.from({ length: 50 }, randomKey);
    await pool(keys, 8, async (k) => expect((await post(world.edge.url, 1, DOMAIN, k)).status).toBe(200));
    await until("the keys on the gateway", async () => (await gw.missing(keys)).length === 0, 120_000, 1000);
    await world.waitCaughtUp();
    const head = (await world.status()).head;

    // Power cycle with systemd-networkd: the agent is stopped, the kernel starts empty, and
    // networkd creates the interfaces from its .netdev/.network files before the agent starts.
    await gw.stop();
    await gw.deleteInterfaces();
    const keyFile = path.join(world.dir, `${gw.name}.key`);
    await g.script([
      // wg-welt.netdev: Kind=wireguard, PrivateKeyFile=, ListenPort=; .network: the /128, no IPv6LL, MTUBytes=1420
      ["ip", "link", "add", "dev", IF.wg, "type", "wireguard"],
      ["wg", "set", IF.wg, "private-key", keyFile, "listen-port", String(GATEWAY_PORT)],
      ["ip", "link", "set", "dev", IF.wg, "addrgenmode", "none"],
      ["ip", "-6", "addr", "add", `${gw.ll}/128`, "dev", IF.wg],
      ["ip", "link", "set", "dev", IF.wg, "mtu", "1420", "up"],
      // vx-welt.netdev: Kind=vxlan, VNI=, Local=, DestinationPort=8472, its own MACAddress=
      [
        ...["ip", "link", "add", "dev", IF.vx, "address", NETWORKD_MAC, "type", "vxlan", "id", String(VNI)],
        ...["local", gw.ll, "dstport", "8472", "dev", IF.wg],
      ],
      // bat-welt.netdev: Kind=batadv, RoutingAlgorithm=batman-v, GatewayMode=server, HopPenalty=
      ["batctl", "meshif", IF.bat, "interface", "create", "routing_algo", ROUTING_ALGO],
      ["batctl", "meshif", IF.bat, "gw_mode", "server"],
      ["batctl", "meshif", IF.bat, "hop_penalty", String(HOP_PENALTY)],
      ["ip", "link", "set", "dev", IF.vx, "master", IF.bat, "up"],
      ["ip", "link", "add", "dev", IF.br, "type", "bridge"],
      ["ip", "link", "set", "dev", IF.bat, "master", IF.br, "up"],
      ["ip", "link", "set", "dev", IF.br, "up"],
    ]);
    const before = await gw.links();
    expect(OURS.filter((i) => !before.has(i))).toEqual([]);
    expect((await gw.peers()).size).toBe(0);

    const monitorLog = path.join(world.dir, "link-events.log");
    const monitor = await g.spawn(["ip", "-ts", "monitor", "link"], monitorLog);
    try {
      await gw.start();
      // The adopted wg-welt had no node peer: the agent asked for a snapshot (a replay since its
      // last sequence number would have brought back none of them).
      await until(
        async () => `every peer back (missing ${(await gw.missing(keys)).length} of ${keys.length})`,
        async () => (await gw.missing(keys)).length === 0,
        120_000,
        1000,
      );
    } finally {
      await g.signal(monitor, "TERM");
    }
    const after = await gw.links();
    for (const i of OURS) expect({ [i]: after.get(i)?.ifindex }).toEqual({ [i]: before.get(i)?.ifindex });
    expect(after.get(IF.vx)?.address).toBe(NETWORKD_MAC);
    expect(after.get(IF.vx)?.master).toBe(IF.bat);
    expect(after.get(IF.bat)?.master).toBe(IF.br);
    // The kernel's own record of every link change while the agent started.
    const events = readFileSync(monitorLog, "utf8");
    const ours = events.split("\n").filter((l) => OURS.some((i) => l.includes(` ${i}:`) || l.includes(` ${i}@`)));
    expect(
      ours.filter((l) => l.includes("Deleted")),
      events,
    ).toEqual([]);
    expect(
      ours.filter((l) => /<[^>]*>/.test(l) && !/<[^>]*\bUP\b[^>]*>/.test(l)),
      events,
    ).toEqual([]);
    expect(
      ours.filter((l) => /state DOWN/.test(l)),
      events,
    ).toEqual([]);
    expect((await world.status()).head).toBe(head);
    failed = false;
  });
});
