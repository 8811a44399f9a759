import { rmSync, writeFileSync } from "node:fs";
import { linkLocal } from "@wgkex-edge/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecaRunner, netnsRunner, parseConfig, silentLogger, startAgent } from "../src/index.ts";
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
const ns = `wgxb-${process.pid}`;
const suffix = `b${process.pid % 1_000_000}`;
const wgIf = `wg-${suffix}`;

describe.skipIf(skip !== undefined)("whole agent on wireguard-go, following an edge over a WebSocket", () => {
  const dir = tempDir();
  let edge: FakeEdge;

  beforeAll(async () => {
    createNamespace(ns);
    edge = await FakeEdge.start();
  });
  afterAll(async () => {
    await edge?.close();
    destroyNamespace(ns);
    rmSync(`/var/run/wireguard/${wgIf}.sock`, { force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it("snapshot on first start, live batches, restart resumes without snapshot and reuses wireguard-go", async () => {
    const gw = keyPair();
    writeFileSync(`${dir}/gw.key`, `${gw.privateKey}\n`, { mode: 0o600 });
    writeFileSync(`${dir}/token`, "t\n");
    const config = parseConfig(`gateway: gw01
edge: { url: "${edge.url}", token_file: ${dir}/token, backoff_min_ms: 20, backoff_max_ms: 200 }
external_address: gw01.example.net
domain_prefixes: [ffmuc_]
state_dir: ${dir}/state
metrics: { listen: null }
wireguard: { implementation: userspace }
domains:
  ffmuc_welt:
    listen_port: 40012
    private_key_file: ${dir}/gw.key
    vni: 4831583
    interface_suffix: ${suffix}
    batman: { enabled: false }
`);
    const runner = netnsRunner(new ExecaRunner(), ns);
    const initial = publicKeys(1200, 90);
    edge.record(initial.map((key) => ({ key })));
    const agent = await startAgent(config, { runner, logger: silentLogger, timers: false });
    await edge.until(() => edge.acks().some((a) => a.seq === 1200), 30_000);
    expect(edge.hellos[0]).toMatchObject({ since: 0, snapshot: true });
    const live = publicKeys(800, 91);
    edge.publish([...live.map((key) => ({ key })), { key: initial[0]!, op: "remove" as const }]);
    await edge.until(() => edge.acks().some((a) => a.seq === 2001), 30_000);
    const peers = inNs(ns, ["wg", "show", wgIf, "allowed-ips"]).trim().split("\n");
    expect(peers).toHaveLength(1999);
    expect(peers).toContain(`${live[0]}\t${linkLocal(live[0]!, "wgkex")}/128`);
    await agent.stop();

    // restart: interface exists, state file exists → replay from 2001, no snapshot
    edge.record([{ key: live[1]!, op: "remove" }]);
    const again = await startAgent(config, { runner, logger: silentLogger, timers: false });
    await edge.until(() => edge.acks().some((a) => a.seq === 2002), 30_000);
    expect(again.domains.get("ffmuc_welt")!.provisioned?.created).toBe(false);
    expect(edge.hellos.at(-1)).toEqual({
      since: 2001,
      snapshot: undefined,
      auth: "Bearer t",
      path: "/api/v1/gateways/gw01/domains/ffmuc_welt/socket",
    });
    expect(inNs(ns, ["wg", "show", wgIf, "peers"]).trim().split("\n")).toHaveLength(1998);
    await again.stop();
  });
});
