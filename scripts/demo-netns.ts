/**
 * `npm run demo:netns`: the end-to-end world with one gateway and one simulated Gluon node,
 * step by step: registration, receipt, `wg show`, ping over WireGuard and over the VXLAN
 * overlay. Root, wireguard-go, wireguard-tools, iproute2 and iputils-ping required.
 * Tears everything down at the end, or on Ctrl-C. `--keep`: wait for Ctrl-C before tearing
 * down, to look around (`ip netns list`, `ip netns exec <ns> wg show`).
 */
import { inNs, missingTools, ping, tryInNs, until, World } from "../tests/e2e/support/world.ts";

const keep = process.argv.includes("--keep");
const say = (text: string) => process.stdout.write(`${text}\n`);
const step = (n: number, text: string) => say(`\n\x1b[1m${n}. ${text}\x1b[0m`);
const indent = (text: string) => say(text.trimEnd().replace(/^/gm, "   "));

const missing = missingTools().filter(([ok]) => !ok);
if (missing.length > 0) {
  say(`demo:netns needs: ${missing.map(([, what]) => what).join("; ")}`);
  process.exit(1);
}

let world: World | undefined;
let tearingDown = false;
const teardown = async (code: number) => {
  if (tearingDown) return;
  tearingDown = true;
  say("\ntearing down: agent, edge, wireguard-go, namespaces");
  await world?.destroy();
  process.exit(code);
};
process.on("SIGINT", () => void teardown(130));
process.on("SIGTERM", () => void teardown(143));

try {
  step(1, "building the world: edge (workerd, persisted storage), one gateway namespace with the agent");
  world = await World.create({ prefix: "wgxd", gateways: 1, log: (l) => indent(l) });
  const gw = world.gateway("gw01");
  indent(
    `gateway gw01: namespace ${gw.ns}, underlay ${gw.address}, ${gw.wgIf} (wireguard-go) + ${gw.vxIf} (VXLAN ${4831583})`,
  );
  indent(`gateway key ${gw.publicKey}, link-local ${gw.ll}`);
  indent(`agent: wgkex-agent run --config ${gw.configFile} (batman-adv disabled: no module on this kernel)`);

  step(2, "a Gluon node registers (busybox wget: form content type, JSON text)");
  const node = world.addNode();
  indent(`node namespace ${node.ns}, underlay ${node.address}, key ${node.publicKey}, link-local ${node.ll}`);
  indent(`POST ${new URL("/api/v2/wg/key/exchange", world.edge.url).href}`);
  indent(`Content-Type: application/x-www-form-urlencoded`);
  indent(`{"domain": "ffmuc_welt","public_key": "${node.publicKey}"}`);
  const t0 = Date.now();
  const r = await node.register(2);
  indent(`→ HTTP ${r.status} ${r.text}`);
  if (r.status !== 200) throw new Error("registration failed");
  const endpoint = (JSON.parse(r.text) as { Endpoint: Parameters<typeof node.connect>[0] }).Endpoint;

  step(3, "the receipt: GET /api/v1/wg/key/status");
  const receipt = await until("the receipt to say installed", async () => {
    const rc = await world!.edge.receipt(node.publicKey);
    return rc?.gateways[0]?.state === "installed" ? rc : undefined;
  });
  indent(`installed on the gateway ${Date.now() - t0} ms after the POST:`);
  indent(JSON.stringify(receipt, null, 2));

  step(4, "what the gateway has now");
  indent(`$ wg show ${gw.wgIf}`);
  indent(inNs(gw.ns, ["wg", "show", gw.wgIf]));
  indent(`$ ip -6 route show dev ${gw.wgIf}`);
  indent(inNs(gw.ns, ["ip", "-6", "route", "show", "dev", gw.wgIf]));
  indent(`$ bridge fdb show dev ${gw.vxIf}`);
  indent(inNs(gw.ns, ["bridge", "fdb", "show", "dev", gw.vxIf]));

  step(5, "the node builds its tunnel from the answer (keepalive 25) and its VXLAN on top");
  node.connect(endpoint);
  indent(`wireguard-go ${node.wgIf}; addrgenmode none; ${node.ll}/64`);
  indent(
    `wg set ${node.wgIf} peer ${endpoint.PublicKey} persistent-keepalive 25 allowed-ips ${endpoint.AllowedIPs[0]}/128 endpoint ${endpoint.Address}:${endpoint.Port}`,
  );
  indent(
    `ip link add ${node.vxIf} type vxlan id 4831583 local ${node.ll} remote ${endpoint.AllowedIPs[0]} dstport 8472 dev ${node.wgIf}`,
  );

  step(6, "ping over WireGuard (link-local to link-local)");
  if (!ping(node.ns, `${gw.ll}%${node.wgIf}`, 10)) throw new Error("no answer over WireGuard");
  indent(tryInNs(node.ns, ["ping", "-6", "-n", "-c", "3", "-i", "0.2", `${gw.ll}%${node.wgIf}`]).stdout);
  indent(`$ wg show ${node.wgIf}   (on the node)`);
  indent(inNs(node.ns, ["wg", "show", node.wgIf]));

  step(7, "ping over the VXLAN overlay (fd77:e2e::1 on the gateway's VXLAN, fd77:e2e::2 on the node's)");
  inNs(gw.ns, ["ip", "-6", "addr", "add", "fd77:e2e::1/64", "dev", gw.vxIf, "nodad"]);
  inNs(node.ns, ["ip", "-6", "addr", "add", "fd77:e2e::2/64", "dev", node.vxIf, "nodad"]);
  if (!ping(node.ns, "fd77:e2e::1", 10)) throw new Error("no answer over the overlay");
  indent(tryInNs(node.ns, ["ping", "-6", "-n", "-c", "3", "-i", "0.2", "fd77:e2e::1"]).stdout);
  indent(`$ bridge fdb show dev ${gw.vxIf}   (the gateway learned the node's MAC)`);
  indent(inNs(gw.ns, ["bridge", "fdb", "show", "dev", gw.vxIf]));

  if (keep) {
    say(`\nall up. Look around: ip netns list | grep ${world.id}; ip netns exec ${gw.ns} wg show. Ctrl-C tears down.`);
    await new Promise(() => {});
  }
  await teardown(0);
} catch (e) {
  say(`\ndemo failed: ${(e as Error).message}`);
  if (world) say(world.describe());
  await teardown(1);
}
