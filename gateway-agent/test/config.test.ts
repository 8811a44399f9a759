import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig, socketUrl } from "../src/config/load.ts";

const base = `gateway: gw01
edge: { url: "https://broker.example.net", token_file: /etc/wgkex-agent/token }
external_address: gw01.ext.example.net
domain_prefixes: [ffmuc_]
domains:
  ffmuc_welt:
    listen_port: 40011
    private_key_file: /etc/wgkex-agent/wg-welt.key
    domain_seed: "${"ab".repeat(32)}"
`;

const errorOf = (text: string): string => {
  try {
    parseConfig(text, "c.yaml");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a configuration error");
};

describe("configuration", () => {
  it("fills sensible defaults and derives interfaces and VNI", () => {
    const c = parseConfig(base);
    expect(c.state_dir).toBe("/var/lib/wgkex-agent");
    expect(c.metrics.listen).toBe("127.0.0.1:9761");
    expect(c.wireguard).toEqual({ implementation: "kernel" });
    expect(c.cleanup).toEqual({ interval_s: 300, stale_after_s: 10_800, grace_s: 600 });
    expect(c.reports.load_interval_s).toBe(60);
    expect(c.edge.ping_interval_s).toBe(30);
    const d = c.domains[0]!;
    expect(d.name).toBe("ffmuc_welt");
    expect(d.interfaces).toEqual({
      suffix: "welt",
      wireguard: "wg-welt",
      vxlan: "vx-welt",
      batman: "bat-welt",
      bridge: "br-welt",
    });
    expect(d.variant).toBe("wgkex");
    expect(d.mtu).toBe(1420);
    expect(d.batman).toEqual({
      enabled: true,
      routing_algo: "BATMAN_V",
      gw_mode: "server",
      throughput_override: "1000mbit",
      bridge: false,
    });
    expect(d.vniResolved).toBeGreaterThan(0);
  });

  it("userspace WireGuard defaults to wireguard-go in the foreground", () => {
    const c = parseConfig(`${base}wireguard: { implementation: userspace }\n`);
    expect(c.wireguard).toEqual({ implementation: "userspace", command: ["wireguard-go", "-f"] });
  });

  it("the example configuration is valid", () => {
    const text = readFileSync(join(import.meta.dirname, "../packaging/config.example.yaml"), "utf8");
    const c = parseConfig(text);
    expect(c.domains[0]!.vniResolved).toBe(4831583);
    expect(c.domains[0]!.batman.bridge).toBe(true);
    expect(c.domains[0]!.static_peers).toHaveLength(1);
  });

  it("names the field and how to fix it", () => {
    expect(errorOf(base.replace("listen_port: 40011", "listen_port: 70000"))).toBe(
      "c.yaml: invalid configuration:\n  - domains.ffmuc_welt.listen_port: must be a UDP port between 1 and 65535",
    );
    expect(errorOf(base.replace("gateway: gw01\n", ""))).toBe(
      "c.yaml: invalid configuration:\n  - gateway: is required: the name this gateway has in the edge's configuration, e.g. gw01",
    );
    expect(errorOf(base.replace(/ {4}domain_seed.*\n/, ""))).toBe(
      "c.yaml: invalid configuration:\n  - domains.ffmuc_welt.domain_seed: needs domain_seed (64 hex characters from site.conf) or vni (the VXLAN id); set one of them",
    );
    expect(errorOf(base.replace("ffmuc_welt:", "other_welt:"))).toBe(
      'c.yaml: invalid configuration:\n  - domains.other_welt: domain starts with none of domain_prefixes ["ffmuc_"]; add its prefix there',
    );
    expect(errorOf(`${base}colour: blue\n`)).toBe(
      'c.yaml: invalid configuration:\n  - unknown field "colour": remove it or check its spelling',
    );
    expect(errorOf(base.replace("private_key_file: /etc", "private_key_file: etc"))).toContain(
      "domains.ffmuc_welt.private_key_file: must be an absolute path",
    );
    expect(errorOf(base.replace("ffmuc_welt:", "ffmuc_averyveryverylongname:"))).toContain(
      'domains.ffmuc_averyveryverylongname.interface_suffix: interface name "wg-averyveryverylongname" has 24 characters',
    );
    expect(errorOf(`${base}    vni: 5\n`)).toContain("domains.ffmuc_welt.vni: set either domain_seed or vni, not both");
    expect(errorOf("gateway: [")).toMatch(/^c\.yaml: not valid YAML/);
    expect(errorOf(base.replace("https://broker", "ftp://broker"))).toContain("edge.url: must start with https://");
  });

  it("builds the socket URL (https → wss, http → ws)", () => {
    expect(socketUrl("https://broker.example.net", "/api/v1/gateways/gw01/domains/ffmuc_welt/socket")).toBe(
      "wss://broker.example.net/api/v1/gateways/gw01/domains/ffmuc_welt/socket",
    );
    expect(socketUrl("http://127.0.0.1:8787/", "/x")).toBe("ws://127.0.0.1:8787/x");
  });
});
