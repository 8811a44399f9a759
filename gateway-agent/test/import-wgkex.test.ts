import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseEdgeConfig } from "../../edge/src/config/schema.ts";
import { type CliIO, EXIT, main } from "../src/cli.ts";
import { ConfigError, parseConfig } from "../src/config/load.ts";
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
  let port = 40000;
  const keys = publicKeys(400, 7);
  let k = 0;
  return yaml
    .replace(/listen_port: CHANGE-ME.*$/gm, () => `listen_port: ${port++}`)
    .replace(/public_key: CHANGE-ME.*$/gm, () => `public_key: "${keys[k++]}"`)
    .replace(/domain_seed: CHANGE-ME.*$/gm, `domain_seed: "${"ab".repeat(32)}"`)
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

  it("--gateway: only that gateway's skeleton, and the file's externalName is its", () => {
    const r = convertWgkex(ffmuc, { gateway: "gw06" });
    expect([...r.agents.keys()]).toEqual(["gw06"]);
    expect(r.agents.get("gw06")).toContain("external_address: gw04.ext.ffmuc.net");
    expect(r.gateways).toHaveLength(4);
    expect(() => convertWgkex(ffmuc, { gateway: "gw99" })).toThrow(/^--gateway: "gw99" is none of the workers/);
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
    expect(r.unmapped.join("\n")).toMatch(/^log_level: /m);
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
