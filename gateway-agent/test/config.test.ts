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

  it("import-wgkex's CHANGE-ME placeholders fail, each with where the value is found on a wgkex gateway", () => {
    const skeleton = base
      .replace("https://broker.example.net", "https://CHANGE-ME.example")
      .replace("external_address: gw01.ext.example.net", "external_address: CHANGE-ME # this gateway's name")
      .replace("listen_port: 40011", "listen_port: CHANGE-ME")
      .replace(
        "private_key_file:",
        "mtu: CHANGE-ME\n    static_peers: [{ name: gw02, public_key: CHANGE-ME }]\n    private_key_file:",
      );
    expect(errorOf(skeleton)).toBe(
      [
        "c.yaml: invalid configuration:",
        "  - edge.url: is still the import-wgkex placeholder CHANGE-ME: set the edge's URL, e.g. https://broker.ffmuc.net",
        "  - external_address: is still the import-wgkex placeholder CHANGE-ME: set this gateway's public DNS name, wgkex's externalName in this gateway's own wgkex.yaml (e.g. gw04.ext.ffmuc.net)",
        "  - domains.ffmuc_welt.listen_port: is still the import-wgkex placeholder CHANGE-ME: the UDP port wg-welt listens on now (`wg show wg-welt listen-port`); nodes' tunnels point at it",
        "  - domains.ffmuc_welt.mtu: is still the import-wgkex placeholder CHANGE-ME: the MTU wg-welt has now (`ip link show wg-welt`); the agent sets it at start",
        "  - domains.ffmuc_welt.static_peers[0].public_key: is still the import-wgkex placeholder CHANGE-ME: that gateway's public key for this domain (`wg show wg-welt public-key` on it)",
      ].join("\n"),
    );
    // The other problems of the file are still named next to them.
    expect(errorOf(`${skeleton}colour: blue\n`)).toContain('  - unknown field "colour"');
  });

  it("external_address must be a DNS name: FFMUC's Gluon client runs nslookup on it", () => {
    expect(errorOf(base.replace("gw01.ext.example.net", "10.0.0.1"))).toBe(
      "c.yaml: invalid configuration:\n  - external_address: must be a DNS name, not an IPv4 address (e.g. gw04.ext.ffmuc.net): FFMUC's Gluon client (ffmuc-mesh-vpn-wireguard-vxlan) runs nslookup on the v2 answer's Address and gives up on an IP literal",
    );
    expect(errorOf(base.replace("gw01.ext.example.net", '"2001:db8::1"'))).toContain(
      "external_address: must be a DNS name, not an IPv6 address",
    );
    expect(parseConfig(base.replace("gw01.ext.example.net", "gw01.ext.example.net.")).external_address).toBe(
      "gw01.ext.example.net.",
    );
  });

  it("builds the socket URL (https → wss, http → ws)", () => {
    expect(socketUrl("https://broker.example.net", "/api/v1/gateways/gw01/domains/ffmuc_welt/socket")).toBe(
      "wss://broker.example.net/api/v1/gateways/gw01/domains/ffmuc_welt/socket",
    );
    expect(socketUrl("http://127.0.0.1:8787/", "/x")).toBe("ws://127.0.0.1:8787/x");
  });
});
