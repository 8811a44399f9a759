import { stableMac } from "@wgkex-edge/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pool } from "../e2e/support/check.ts";
import { DOMAIN, GATEWAY_PORT, post, randomKey, until, VNI } from "../e2e/support/world.ts";
import { GATEWAY_MESH_ADDRESS, GUEST_NAME, HOP_PENALTY, IF, NETWORKD_MAC, ROUTING_ALGO } from "./support/constants.ts";
import type { KernelNode } from "./support/node.ts";
import { attachWorld, kernelSkip } from "./support/suite.ts";
import type { KernelWorld } from "./support/world.ts";

const skip = kernelSkip();

describe.skipIf(skip !== undefined)(
  "1. the mesh on Debian's kernel: batman-adv over VXLAN over kernel WireGuard, and a gateway reboot",
  () => {
    let world: KernelWorld;
    const nodes: KernelNode[] = [];
    let failed = false;
    beforeAll(() => {
      world = attachWorld();
    });
    afterAll(async () => {
      if (failed)
        console.log(
          [await world.gateway.describe(), ...(await Promise.all(nodes.map((n) => n.describe())))].join("\n"),
        );
    });

    it("the agent provisioned the gateway as configured: kernel WireGuard, vx under bat (BATMAN_V, gw_mode server, hop penalty) under the mesh bridge", async () => {
      const gw = world.gateway;
      const links = await gw.links();
      expect(links.get(IF.wg)?.linkinfo?.info_kind).toBe("wireguard");
      expect(links.get(IF.vx)?.linkinfo?.info_kind).toBe("vxlan");
      expect(links.get(IF.bat)?.linkinfo?.info_kind).toBe("batadv");
      expect(links.get(IF.br)?.linkinfo?.info_kind).toBe("bridge");
      expect(links.get(IF.vx)?.master).toBe(IF.bat);
      expect(links.get(IF.bat)?.master).toBe(IF.br);
      const bat = async (...args: string[]) => (await world.guest.sh(["batctl", "meshif", IF.bat, ...args])).trim();
      expect(await bat("gw_mode")).toMatch(/^server/);
      expect(await bat("hop_penalty")).toBe(String(HOP_PENALTY));
      expect(await world.guest.sh(["batctl", "routing_algo"])).toMatch(new RegExp(`\\* ${IF.bat}: ${ROUTING_ALGO}\\n`));
      const listen = (await world.guest.sh(["wg", "show", IF.wg, "listen-port"])).trim();
      expect(listen).toBe(String(GATEWAY_PORT));
    });

    it("a node registers (v2, busybox wget in the node) and the mesh forms: originators, gwl, and its client pings the gateway's mesh bridge", async () => {
      const gw = world.gateway;
      failed = true;
      // The gateway's mesh address is the host's configuration (as networkd would add it), not the agent's.
      await world.guest.sh(["ip", "-6", "addr", "replace", `${GATEWAY_MESH_ADDRESS}/64`, "dev", IF.br, "nodad"]);
      const node = await world.addNode();
      nodes.push(node);
      const endpoint = await node.register();
      expect(endpoint).toEqual({
        Address: GUEST_NAME,
        Port: String(GATEWAY_PORT),
        PublicKey: gw.publicKey,
        AllowedIPs: [gw.ll],
      });
      await until(
        "the node's peer on the gateway's kernel WireGuard",
        async () => (await gw.peers()).get(node.publicKey) === `${node.ll}/128`,
        60_000,
        500,
      );
      await node.connect(endpoint);
      const originator = await node.originator();
      await until(
        async () => `the gateway's batctl originators to list the node ${originator}:\n${await gw.describe()}`,
        async () => (await gw.originators()).includes(originator),
        120_000,
        1000,
      );
      const gatewayMac = (await gw.links()).get(IF.vx)!.address;
      await until(
        async () => `the node's batctl gwl to list the gateway ${gatewayMac}:\n${await node.describe()}`,
        async () => (await node.gateways()).includes(gatewayMac),
        120_000,
        1000,
      );
      // batman-adv's bridge loop avoidance holds the first frames for a while: ping until a deadline.
      const t0 = Date.now();
      expect(await node.clientPing(GATEWAY_MESH_ADDRESS, 120)).toBe(true);
      console.log(`kernel 1: client -> gateway mesh bridge answered after ${Date.now() - t0} ms`);
      failed = false;
    });

    it("two nodes reach each other's clients through the gateway", async () => {
      failed = true;
      const [first] = nodes;
      expect(first).toBeDefined();
      const second = await world.addNode();
      nodes.push(second);
      await second.connect(await second.register());
      await until(
        "the gateway to know both nodes",
        async () => {
          const o = await world.gateway.originators();
          return o.includes(await first!.originator()) && o.includes(await second.originator());
        },
        120_000,
        1000,
      );
      expect(await second.clientPing(first!.clientAddress, 120)).toBe(true);
      expect(await first!.clientPing(second.clientAddress, 60)).toBe(true);
      // The nodes are not each other's WireGuard peers: the frames went through the gateway.
      const secondPeers = await world.guest.sh(["ip", "netns", "exec", second.ns, "wg", "show", "mesh-vpn", "peers"]);
      expect(secondPeers.trim()).toBe(world.gateway.publicKey);
      failed = false;
    });

    it("reboot (agent killed, every interface gone): wg, vx, bat and br come back, every peer from the edge, and both clients reach the gateway again without registering again", async () => {
      failed = true;
      const gw = world.gateway;
      expect(nodes).toHaveLength(2);
      const others = Array.from({ length: 200 }, randomKey);
      await pool(others, 8, async (k) => expect((await post(world.edge.url, 1, DOMAIN, k)).status).toBe(200));
      const keys = [...nodes.map((n) => n.publicKey), ...others];
      const allThere = async () => (await gw.missing(keys)).length === 0;
      await until(async () => `all ${keys.length} peers on the gateway`, allThere, 120_000, 1000);
      await world.waitCaughtUp();
      const head = (await world.status()).head;

      // The MAC the VXLAN has now: derived from key and VNI when the agent made it, or the one
      // of an adopted interface (kernel/3-adoption may have run first on this guest).
      const macBefore = (await gw.links()).get(IF.vx)?.address;
      expect(macBefore).toMatch(/^[0-9a-f][02468ace](:[0-9a-f]{2}){5}$/);

      // The reboot: the agent dies, the kernel forgets every interface; the state directory stays.
      await gw.crash();
      await gw.deleteInterfaces();
      const gone = await gw.links();
      expect([IF.wg, IF.vx, IF.bat, IF.br].filter((i) => gone.has(i))).toEqual([]);

      const startedIn = await gw.start();
      const t0 = Date.now();
      await until(
        async () => `all ${keys.length} peers back (missing ${(await gw.missing(keys)).length})`,
        allThere,
        120_000,
        1000,
      );
      console.log(
        `kernel 1: agent online ${startedIn} ms after its start, all ${keys.length} peers back ${Date.now() - t0} ms later`,
      );
      const links = await gw.links();
      expect(links.get(IF.wg)?.linkinfo?.info_kind).toBe("wireguard");
      expect(links.get(IF.vx)?.master).toBe(IF.bat);
      expect(links.get(IF.bat)?.master).toBe(IF.br);
      // The gateway's originator address survives reboots: the VXLAN comes back with the MAC it
      // had (kept in the agent's state; on a gateway the agent made, derived from key and VNI).
      expect(links.get(IF.vx)?.address).toBe(macBefore);
      expect([stableMac(`${gw.publicKey} ${VNI}`), NETWORKD_MAC]).toContain(macBefore);
      expect((await world.guest.sh(["batctl", "meshif", IF.bat, "gw_mode"])).trim()).toMatch(/^server/);
      expect((await world.guest.sh(["batctl", "meshif", IF.bat, "hop_penalty"])).trim()).toBe(String(HOP_PENALTY));

      // The mesh address is the host's configuration (a boot script would add it again).
      await world.guest.sh(["ip", "-6", "addr", "replace", `${GATEWAY_MESH_ADDRESS}/64`, "dev", IF.br, "nodad"]);
      const t1 = Date.now();
      for (const node of nodes) expect(await node.clientPing(GATEWAY_MESH_ADDRESS, 180)).toBe(true);
      console.log(`kernel 1: both clients reached the gateway's mesh bridge again ${Date.now() - t1} ms later`);
      const originators = await gw.originators();
      for (const node of nodes) expect(originators).toContain(await node.originator());
      expect((await world.status()).head).toBe(head); // nobody registered again
      failed = false;
    });
  },
);
