import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseEdgeConfig } from "../../edge/src/config/schema.ts";
import { type CliIO, EXIT, main } from "../src/cli.ts";
import { ConfigError, parseConfig } from "../src/config/load.ts";
import type { HostDomainFacts } from "../src/import/host.ts";
import { convertWgkex, PLACEHOLDER, WgkexImportError } from "../src/import/wgkex.ts";
import { publicKeys } from "../testing/index.ts";

const FIXTURE = join(import.meta.dirname, "import-fixtures", "wgkex.ffmuc.yaml");
const ffmuc = readFileSync(FIXTURE, "utf8");
const tmp = mkdtempSync(join(tmpdir(), "wgkex-import-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const cli: CliIO = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), readStdin: async () => "" };
  return { out, err, io: cli };
}

/** Read a TOML fragment the way wrangler does, returning vars.WGKEX_CONFIG. */
async function wranglerReads(fragment: string): Promise<unknown> {
  const { unstable_readConfig } = await import("wrangler");
  const path = join(tmp, `wrangler-${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(path, `name = "import-test"\ncompatibility_date = "2026-04-01"\n${fragment}`);
  const config = unstable_readConfig({ config: path }, { hideWarnings: true });
  return (config.vars as Record<string, unknown>).WGKEX_CONFIG;
}

/** Fill every placeholder with plausible values: the rest of the skeleton must be valid as is. */
function fill(yaml: string): string {
  let port = 41000; // above the ports --from-host read in these tests
  const keys = publicKeys(400, 7);
  let k = 0;
  return yaml
    .replace(/listen_port: CHANGE-ME.*$/gm, () => `listen_port: ${port++}`)
    .replace(/public_key: CHANGE-ME.*$/gm, () => `public_key: "${keys[k++]}"`)
    .replace(/domain_seed: CHANGE-ME.*$/gm, `domain_seed: "${"ab".repeat(32)}"`)
    .replace(/mtu: CHANGE-ME.*$/gm, "mtu: 1406")
    .replace(/external_address: CHANGE-ME.*$/gm, "external_address: gw.example.net")
    .replace(/url: "https:\/\/CHANGE-ME\.example".*$/gm, 'url: "https://broker.example.net"');
}

describe("import-wgkex: conversion", () => {
  it("FFMUC's wgkex.yaml: 19 domains, 4 workers 30/30/20/20 -> an edge table wrangler reads and the edge accepts", async () => {
    const r = convertWgkex(ffmuc, { source: "wgkex.yaml" });
    expect(r.domains).toHaveLength(19);
    expect(r.domainPrefixes).toEqual(["ffmuc_", "ffdon_", "ffwert_"]);
    expect(r.edgeConfig.gateways).toEqual([
      { name: "gw04", weight: 30, location: "muc" },
      { name: "gw05", weight: 30, location: "muc" },
      { name: "gw06", weight: 20, location: "fra" },
      { name: "gw07", weight: 20, location: "fra" },
    ]);
    const fromToml = await wranglerReads(r.edgeToml);
    expect(fromToml).toEqual(r.edgeConfig);
    const edge = parseEdgeConfig(fromToml);
    expect(edge.domains).toEqual(r.domains);
    expect(edge.gateways.map((g) => [g.name, g.weight, g.location])).toEqual([
      ["gw04", 30, "muc"],
      ["gw05", 30, "muc"],
      ["gw06", 20, "fra"],
      ["gw07", 20, "fra"],
    ]);
    // Same under the production header.
    const prod = r.edgeToml.replace("[vars.WGKEX_CONFIG]", "[env.production.vars.WGKEX_CONFIG]");
    expect(prod).toContain("[env.production.vars.WGKEX_CONFIG]");
  });

  it("reports what it mapped and what it could not (MQTT, broker_listen, logging, placeholders)", () => {
    const r = convertWgkex(ffmuc);
    expect(r.mapped).toContain('workers.gw04.in.ffmuc.net -> gateway "gw04", weight 30, location "muc" (from pop)');
    expect(r.mapped).toContain('externalName gw04.ext.ffmuc.net -> external_address of gateway "gw04"');
    const unmapped = r.unmapped.join("\n");
    expect(unmapped).toMatch(/^mqtt: MQTT is gone/m);
    expect(unmapped).toMatch(/^broker_listen: /m);
    expect(unmapped).toMatch(/^logging_config: /m);
    expect(unmapped).toContain('gateway "gw05": external_address');
    expect(unmapped).toContain("probably gw05.ext.ffmuc.net");
    expect(r.report).toMatch(/^Mapped:\n/);
    expect(r.report).toContain("Not mapped / needs you:");
    expect(r.report).toMatch(/\d+ CHANGE-ME placeholder\(s\) in 4 agent skeleton\(s\)/);
  });

  it("agent skeletons: invalid until every CHANGE-ME is replaced, then valid agent configurations", () => {
    const r = convertWgkex(ffmuc, { edgeUrl: "https://broker.ffmuc.net" });
    expect([...r.agents.keys()]).toEqual(["gw04", "gw05", "gw06", "gw07"]);
    const gw04 = r.agents.get("gw04")!;
    expect(gw04).toContain("external_address: gw04.ext.ffmuc.net");
    expect(gw04).toContain("url: https://broker.ffmuc.net");
    expect(gw04).toContain(`listen_port: ${PLACEHOLDER} # ${PLACEHOLDER}: UDP port of wg-welt`);
    expect(r.agents.get("gw06")).toContain("external_address: CHANGE-ME");
    // As generated: the agent's own validation names the fields to fill in.
    let message = "";
    try {
      parseConfig(gw04, "agent-gw04.yaml");
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      message = (e as Error).message;
    }
    expect(message).toContain("domains.ffmuc_welt.listen_port");
    expect(message).toContain("domains.ffmuc_welt.domain_seed");
    for (const [name, yaml] of r.agents) {
      const config = parseConfig(fill(yaml), `agent-${name}.yaml`);
      expect(config.gateway).toBe(name);
      expect(config.domains).toHaveLength(19);
      const welt = config.domains.find((d) => d.name === "ffmuc_welt")!;
      expect(welt.interfaces.wireguard).toBe("wg-welt");
      expect(welt.static_peers.map((p) => p.name)).toEqual(["gw04", "gw05", "gw06", "gw07"].filter((g) => g !== name));
      expect(config.domains.find((d) => d.name === "ffdon_mitte")!.interfaces.batman).toBe("bat-mitte");
    }
  });

  it("--gateway: only that gateway's skeleton; the file's externalName only when it names that gateway", () => {
    const own = convertWgkex(ffmuc, { gateway: "gw04" });
    expect([...own.agents.keys()]).toEqual(["gw04"]);
    expect(own.agents.get("gw04")).toContain("external_address: gw04.ext.ffmuc.net # wgkex externalName");
    // gw04's file with --gateway gw06: gw06 must not answer v2 with gw04's name.
    const other = convertWgkex(ffmuc, { gateway: "gw06" });
    expect([...other.agents.keys()]).toEqual(["gw06"]);
    expect(other.gateways).toHaveLength(4);
    expect(other.agents.get("gw06")).toContain(
      "external_address: CHANGE-ME # CHANGE-ME: this gateway's public DNS name (wgkex externalName), probably gw06.ext.ffmuc.net",
    );
    expect(other.agents.get("gw06")).not.toContain("gw04.ext.ffmuc.net");
    expect(other.unmapped).toContain(
      'externalName gw04.ext.ffmuc.net names worker gw04.in.ffmuc.net (gateway "gw04"), but --gateway says this file is "gw06"\'s: not used for "gw06"; run import-wgkex with "gw06"\'s own wgkex.yaml, or fill in its external_address',
    );
    expect(other.mapped.join("\n")).not.toContain("externalName");
    // An externalName that names no worker: --gateway says whose it is.
    const vpn = convertWgkex(ffmuc.replace("externalName: gw04.ext.ffmuc.net", "externalName: vpn3.ffmuc.net"), {
      gateway: "gw06",
    });
    expect(vpn.agents.get("gw06")).toContain("external_address: vpn3.ffmuc.net # wgkex externalName");
    expect(() => convertWgkex(ffmuc, { gateway: "gw99" })).toThrow(/^--gateway: "gw99" is none of the workers/);
  });

  it("an externalName that is an IP address is not carried over: v2 needs a DNS name", () => {
    const r = convertWgkex(ffmuc.replace("externalName: gw04.ext.ffmuc.net", "externalName: 192.0.2.4"), {
      gateway: "gw04",
    });
    expect(r.agents.get("gw04")).toContain("external_address: CHANGE-ME");
    expect(r.unmapped.join("\n")).toContain(
      "externalName 192.0.2.4: must be a DNS name, not an IPv4 address (e.g. gw04.ext.ffmuc.net): FFMUC's Gluon client (ffmuc-mesh-vpn-wireguard-vxlan) runs nslookup",
    );
  });

  it("the skeleton carries the MTU, log level and key handling, or says what it left out", () => {
    const r = convertWgkex(`${ffmuc}log_level: WARNING\n`, { gateway: "gw04" });
    const gw04 = r.agents.get("gw04")!;
    expect(gw04).toContain("log_level: warn # wgkex log_level");
    expect(r.mapped).toContain("log_level WARNING -> agent log_level warn");
    expect(gw04).toContain(
      "mtu: CHANGE-ME # CHANGE-ME: the MTU wg-welt has now (ip link show wg-welt); the agent sets it at start",
    );
    expect(gw04).toContain(
      "private_key_file: /etc/wgkex-agent/wg-welt.key # copy the gateway's existing key: umask 077; wg show wg-welt private-key > this file",
    );
    expect(gw04).not.toContain("genkey");
    const unmapped = r.unmapped.join("\n");
    expect(unmapped).toContain("listen_port, mtu and domain_seed (or vni): wgkex's worker never knew them");
    expect(unmapped).toContain("run import-wgkex --gateway NAME --from-host on that gateway");
    expect(unmapped).toMatch(/^per domain batman \(gw_mode server, .*not read from your gateway/m);
    expect(unmapped).toMatch(/^per domain private_key_file: copy each interface's existing private key/m);
  });

  it("--from-host: listen port, MTU, VNI and bridge from the gateway's interfaces; what is missing stays CHANGE-ME", () => {
    const host = new Map<string, HostDomainFacts>([
      [
        "ffmuc_welt",
        {
          wireguard: "wg-welt",
          exists: true,
          listenPort: 40011,
          mtu: 1406,
          vni: 4831583,
          batman: true,
          bridge: "br-welt",
        },
      ],
      [
        "ffmuc_muc_cty",
        { wireguard: "wg-muc_cty", exists: true, listenPort: 40012, mtu: 1406, batman: true, bridge: "br0" },
      ],
      ["ffdon_mitte", { wireguard: "wg-mitte", exists: false }],
    ]);
    const r = convertWgkex(ffmuc, { gateway: "gw04", host });
    const gw04 = r.agents.get("gw04")!;
    const welt = gw04.slice(gw04.indexOf("  ffmuc_welt:"), gw04.indexOf("  ffdon_mitte:"));
    expect(welt).toContain("listen_port: 40011 # read from wg-welt on this gateway");
    expect(welt).toContain("vni: 4831583 # read from vx-welt on this gateway");
    expect(welt).toContain("mtu: 1406 # read from wg-welt on this gateway");
    expect(welt).toContain("bridge: true # bat-welt is a port of br-welt on this gateway");
    const cty = gw04.slice(gw04.indexOf("  ffmuc_muc_cty:"), gw04.indexOf("  ffmuc_muc_nord:"));
    expect(cty).toContain("domain_seed: CHANGE-ME");
    expect(cty).toContain(
      "bridge: false # bat-muc_cty is a port of br0, not br-muc_cty: left to your network configuration",
    );
    const unmapped = r.unmapped.join("\n");
    expect(unmapped).toContain(
      "domain ffmuc_muc_cty: not found on wg-muc_cty: domain_seed (no VXLAN interface found) (CHANGE-ME)",
    );
    expect(unmapped).toContain("domain ffdon_mitte: wg-mitte does not exist on this gateway");
    const filled = parseConfig(fill(gw04), "agent-gw04.yaml");
    const d = filled.domains.find((x) => x.name === "ffmuc_welt")!;
    expect([d.listen_port, d.mtu, d.vniResolved, d.batman.bridge]).toEqual([40011, 1406, 4831583, true]);
  });

  it("old single-worker files: domain_prefix, no workers -> the gateway is named after externalName", async () => {
    const r = convertWgkex(
      "domains: [ffmuc_welt, ffmuc_muc_cty, other_x]\ndomain_prefix: ffmuc_\nexternalName: gw01.ext.example.net\nlog_level: DEBUG\nmqtt: {broker_url: b, username: u, password: p}\n",
    );
    expect(r.edgeConfig).toEqual({
      domains: ["ffmuc_welt", "ffmuc_muc_cty"],
      domain_prefixes: ["ffmuc_"],
      retention_hours: 168,
      gateways: [{ name: "gw01", weight: 1 }],
    });
    expect(parseEdgeConfig(await wranglerReads(r.edgeToml)).gateways[0]!.name).toBe("gw01");
    expect(r.unmapped.join("\n")).toContain('"other_x" starts with none of domain_prefixes');
    expect(r.mapped).toContain("log_level DEBUG -> agent log_level debug");
    expect(r.agents.get("gw01")).toContain("external_address: gw01.ext.example.net");
  });

  it("worker names that are not valid gateway names, weights as wgkex reads them, long suffixes", () => {
    const r = convertWgkex(
      [
        "domains: [ffmuc_welt, ffmuc_a_very_long_name]",
        "domain_prefixes: [ffmuc_]",
        "workers:",
        "  GW1.example.net: {weight: '5'}",
        "  gw1.other.net: {weight: 0}",
        "  vpn_3: {}",
      ].join("\n"),
    );
    expect(r.edgeConfig.gateways).toEqual([
      { name: "gw1-example-net", weight: 5 },
      { name: "gw1-other-net", weight: 1 },
      { name: "vpn-3", weight: 1 },
    ]);
    expect(r.agents.get("vpn-3")).toContain("interface_suffix: CHANGE-ME");
    expect(r.unmapped.join("\n")).toContain('"a_very_long_name" is longer than 11 characters');
    expect(r.unmapped.join("\n")).toContain("externalName: not set");
  });

  it.each([
    ["domains: [ffmuc_welt\n", /^not valid YAML: /],
    ["- ffmuc_welt\n", /^must be a YAML mapping/],
    ["domain_prefixes: [ffmuc_]\n", /^domains: is required: a list/],
    ["domains: ffmuc_welt\ndomain_prefixes: [ffmuc_]\n", /^domains: must be a list .*not string "ffmuc_welt"/],
    [
      "domains: [ffmuc_welt, 'bad domain']\ndomain_prefixes: [ffmuc_]\n",
      /^domains\[1\]: "bad domain" is not a domain name/,
    ],
    [
      "domains: [ffmuc_welt, 7]\ndomain_prefixes: [ffmuc_]\n",
      /^domains\[1\]: must be a non-empty string, not number 7/,
    ],
    ["domains: [ffmuc_welt]\n", /^domain_prefixes: is required/],
    ["domains: [ffmuc_welt]\ndomain_prefixes: [ffdon_]\n", /^domains: none starts with one of domain_prefixes/],
    ["domains: [ffmuc_welt]\ndomain_prefixes: [ffmuc_]\nworkers: [gw01]\n", /^workers: must be a mapping/],
    [
      "domains: [ffmuc_welt]\ndomain_prefixes: [ffmuc_]\nworkers:\n  gw04.in.ffmuc.net:\n    weight: heavy\n",
      /^workers\.gw04\.in\.ffmuc\.net\.weight: must be a positive whole number/,
    ],
    [
      "domains: [ffmuc_welt]\ndomain_prefixes: [ffmuc_]\nworkers:\n  gw04.in.ffmuc.net: 30\n",
      /^workers\.gw04\.in\.ffmuc\.net: must be a mapping such as \{weight: 30\}/,
    ],
    [
      "domains: [ffmuc_welt]\ndomain_prefixes: [ffmuc_]\nworkers:\n  gw01: {weight: 2.5}\n",
      /^workers\.gw01\.weight: must be a whole number/,
    ],
    ["domains: [ffmuc_welt]\ndomain_prefixes: [ffmuc_]\nexternalName: [a]\n", /^externalName: must be a host name/],
    ["domains: [ffmuc_welt]\ndomain_prefixes: [ffmuc_]\n", /^workers: is empty and there is no externalName/],
    ["domains: [ffmuc_welt]\ndomain_prefixes: [ffmuc_]\ndomains: [x]\n", /^not valid YAML: .*unique/i],
  ])("malformed wgkex.yaml %# names the field", (text, expected) => {
    let error: unknown;
    try {
      convertWgkex(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WgkexImportError);
    expect((error as Error).message).toMatch(expected);
  });
});

describe("import-wgkex: command line", () => {
  it("writes the edge table, one skeleton per gateway and the report; prints the report", async () => {
    const out = join(tmp, "out");
    const x = io();
    expect(await main(["import-wgkex", FIXTURE, "--out-dir", out], x.io)).toBe(EXIT.ok);
    expect(readdirSync(out).sort()).toEqual([
      "WGKEX_CONFIG.toml",
      "agent-gw04.yaml",
      "agent-gw05.yaml",
      "agent-gw06.yaml",
      "agent-gw07.yaml",
      "import-report.txt",
    ]);
    expect(readFileSync(join(out, "WGKEX_CONFIG.toml"), "utf8")).toContain("[vars.WGKEX_CONFIG]");
    expect(x.out.join("")).toContain("Not mapped / needs you:");
    expect(x.out.join("")).toContain(`Wrote ${join(out, "WGKEX_CONFIG.toml")}`);
    expect(x.err).toEqual([]);
  });

  it("--dry-run prints every file and writes nothing; --gateway limits the skeletons", async () => {
    const out = join(tmp, "dry");
    const x = io();
    expect(await main(["import-wgkex", FIXTURE, "--out-dir", out, "-n", "--gateway", "gw05"], x.io)).toBe(EXIT.ok);
    expect(existsSync(out)).toBe(false);
    const text = x.out.join("");
    expect(text).toContain("==> WGKEX_CONFIG.toml <==\n# Generated by wgkex-agent import-wgkex from");
    expect(text).toContain("==> agent-gw05.yaml <==\n");
    expect(text).not.toContain("agent-gw04.yaml");
    expect(text).toContain("==> import-report.txt <==\nMapped:");
  });

  it("errors: usage, unreadable file, malformed wgkex.yaml naming the field", async () => {
    const a = io();
    expect(await main(["import-wgkex"], a.io)).toBe(EXIT.usage);
    expect(a.err.join("")).toContain("give exactly one wgkex.yaml");
    const b = io();
    expect(await main(["import-wgkex", join(tmp, "nope.yaml")], b.io)).toBe(EXIT.config);
    expect(b.err.join("")).toMatch(/nope\.yaml: cannot read/);
    const bad = join(tmp, "bad.yaml");
    writeFileSync(bad, "domains: [ffmuc_welt]\ndomain_prefixes: [ffmuc_]\nworkers:\n  gw01: {weight: -3}\n");
    const c = io();
    expect(await main(["import-wgkex", bad, "--dry-run"], c.io)).toBe(EXIT.config);
    expect(c.err.join("")).toBe(
      `wgkex-agent import-wgkex: ${bad}: workers.gw01.weight: must be a positive whole number (wgkex reads it with int()), not number -3\n`,
    );
    const h = io();
    expect(await main(["--help"], h.io)).toBe(EXIT.ok);
    expect(h.out.join("")).toContain("wgkex-agent import-wgkex WGKEX.YAML");
  });
});
