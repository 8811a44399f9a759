/**
 * `wgkex-agent import-wgkex`: translate a wgkex configuration (wgkex.yaml, as read by
 * wgkex/config/config.py) into the edge's `[vars.WGKEX_CONFIG]` table and one agent
 * configuration skeleton per gateway. Pure: text in, texts out; the CLI does the files.
 *
 * wgkex.yaml fields and where they go:
 *   domains, domain_prefixes (old: domain_prefix) -> edge domains / domain_prefixes, agent domains
 *   workers.<host>.weight                         -> edge gateways[].weight
 *   workers.<host>.pop                            -> edge gateways[].location
 *   externalName (one worker's own file)           -> that agent's external_address
 *   everything else (mqtt, broker_listen, logging_config, parker, ...) -> reported, not mapped
 */
import { DOMAIN_NAME_PATTERN, interfacesForSuffix, matchingPrefix } from "@wgkex-edge/shared";
import { parseDocument } from "yaml";

/** Marks every value the importer cannot know; `wgkex-agent check` fails until it is replaced. */
export const PLACEHOLDER = "CHANGE-ME";

const GATEWAY_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
const SUFFIX = /^[A-Za-z0-9_-]{1,11}$/;

export class WgkexImportError extends Error {
  override name = "WgkexImportError";
}

export interface ImportOptions {
  /** The gateway this wgkex.yaml belongs to (its externalName); only its skeleton is written. */
  gateway?: string;
  /** The edge's public URL, e.g. https://broker.ffmuc.net (placeholder when absent). */
  edgeUrl?: string;
  /** Shown in the generated files' headers. */
  source?: string;
}

export interface ImportedGateway {
  /** Our gateway name (a-z, 0-9, '-'). */
  name: string;
  /** wgkex's worker key (the MQTT client's hostname), when it came from `workers`. */
  worker: string | undefined;
  weight: number;
  location: string | undefined;
  /** From externalName, when this is the worker the file belongs to. */
  externalAddress: string | undefined;
  /** A guess from another worker's externalName (comment only). */
  externalGuess: string | undefined;
}

export interface ImportResult {
  domains: string[];
  domainPrefixes: string[];
  gateways: ImportedGateway[];
  /** The plain object the edge's schema validates (same content as edgeToml). */
  edgeConfig: {
    domains: string[];
    domain_prefixes: string[];
    retention_hours: number;
    gateways: Array<{ name: string; weight: number; location?: string }>;
  };
  /** `[vars.WGKEX_CONFIG]` for wrangler.toml. */
  edgeToml: string;
  /** Agent configuration skeletons (YAML text) by gateway name. */
  agents: Map<string, string>;
  /** What was mapped, one line each. */
  mapped: string[];
  /** What could not be mapped or needs a decision, one line each. */
  unmapped: string[];
  /** Human-readable report (mapped, unmapped, placeholders to fill). */
  report: string;
}

const isMapping = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** Keys of wgkex.yaml that have no counterpart, with what to do instead. */
const NOT_MAPPED: Record<string, string> = {
  mqtt: "MQTT is gone: agents hold a WebSocket to the edge, authenticated with a per-gateway bearer token (GATEWAY_TOKENS secret, agent edge.token_file); retire the MQTT broker after the switch",
  broker_listen:
    "the edge is a Cloudflare Worker: no listen address; the broker name routers use becomes the Worker's custom domain (docs/deployment.md)",
  logging_config:
    "Python logging configuration: the agent logs JSON lines to stderr (journald) with log_level debug|info|warn|error; the edge logs to Workers Logs",
  log_level: "old wgkex log level: set the agent's log_level (debug|info|warn|error) by hand",
  parker:
    "Parker (prefix allocation, 464XLAT, concentrator selection) is not supported by wgkex-edge; only the VXLAN/batman-adv mode is",
  netbox: "NetBox IPAM belongs to Parker: not supported",
  broker_signing_key: "signed Parker configurations: not supported",
  sticky_worker_tolerance:
    "Parker's sticky concentrator choice: not supported; the edge's v2 choice balances by weight, with location, cap and drain per gateway",
  cleanup:
    "wgkex worker cleanup timings: the agent's cleanup.stale_after_s (default 10800) and cleanup.grace_s (default 600) apply; copy values by hand if you changed them",
};

function fail(field: string, message: string): never {
  throw new WgkexImportError(`${field}: ${message}`);
}

function stringList(raw: Record<string, unknown>, field: string, example: string): string[] {
  const v = raw[field];
  if (v === undefined || v === null) fail(field, `is required: a list such as ${example}`);
  if (!Array.isArray(v)) fail(field, `must be a list such as ${example}, not ${describe(v)}`);
  if (v.length === 0) fail(field, `must list at least one entry, e.g. ${example}`);
  return v.map((item, i) => {
    if (typeof item !== "string" || item.length === 0)
      fail(`${field}[${i}]`, `must be a non-empty string, not ${describe(item)}`);
    return item;
  });
}

function describe(v: unknown): string {
  if (v === null) return "empty";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** wgkex worker key (hostname) -> our gateway name: the first DNS label when valid and unique. */
function gatewayNames(workers: string[]): Map<string, string> {
  const first = workers.map((w) => w.toLowerCase().split(".")[0] ?? "");
  const names = new Map<string, string>();
  const used = new Set<string>();
  workers.forEach((w, i) => {
    const label = first[i]!;
    const unique = first.filter((f) => f === label).length === 1;
    let name = label;
    if (!unique || !GATEWAY_NAME.test(label)) {
      name = w
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .replace(/^-+|-+$/g, "")
        .slice(0, 32)
        .replace(/-+$/, "");
    }
    if (!GATEWAY_NAME.test(name)) {
      fail(`workers.${w}`, "cannot derive a gateway name (a-z, 0-9, '-', at most 32 characters) from this host name");
    }
    if (used.has(name)) fail(`workers.${w}`, `gives the gateway name "${name}" a second time; rename one worker`);
    used.add(name);
    names.set(w, name);
  });
  return names;
}

function parseWeight(v: unknown, field: string): number {
  // wgkex: int(worker_cfg.get("weight") or 1) — missing, empty or 0 means 1.
  if (v === undefined || v === null || v === 0 || v === "") return 1;
  const n = typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) {
    fail(field, `must be a positive whole number (wgkex reads it with int()), not ${describe(v)}`);
  }
  if (!Number.isInteger(n)) fail(field, `must be a whole number (wgkex reads it with int()), not ${n}`);
  return n;
}

const toml = (v: string) => JSON.stringify(v);
/** A YAML scalar: plain when safe, else double-quoted (JSON strings are valid YAML). */
const yamlStr = (v: string) => (/^[A-Za-z0-9_./:@-]+$/.test(v) && !/^[-:@]/.test(v) ? v : JSON.stringify(v));

export function convertWgkex(text: string, options: ImportOptions = {}): ImportResult {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new WgkexImportError(`not valid YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
  }
  const raw: unknown = doc.toJS();
  if (!isMapping(raw)) {
    throw new WgkexImportError("must be a YAML mapping with domains:, domain_prefixes:, workers: … (wgkex.yaml)");
  }
  const mapped: string[] = [];
  const unmapped: string[] = [];

  // ---- domain_prefixes (old wgkex: a single domain_prefix)
  let prefixes: string[];
  if (raw.domain_prefixes === undefined && typeof raw.domain_prefix === "string") {
    prefixes = [raw.domain_prefix];
    mapped.push(`domain_prefix "${raw.domain_prefix}" (old single-prefix form) -> domain_prefixes`);
  } else {
    prefixes = stringList(raw, "domain_prefixes", "[ffmuc_]");
    if (raw.domain_prefix !== undefined) unmapped.push("domain_prefix: ignored, domain_prefixes is set");
  }

  // ---- domains
  const listed = stringList(raw, "domains", "[ffmuc_welt, ffmuc_muc_cty]");
  const domains: string[] = [];
  const seen = new Set<string>();
  listed.forEach((d, i) => {
    if (!DOMAIN_NAME_PATTERN.test(d)) {
      fail(`domains[${i}]`, `"${d}" is not a domain name: 1-64 characters of A-Z, a-z, 0-9, '_' or '-'`);
    }
    if (seen.has(d)) {
      unmapped.push(`domains: "${d}" is listed twice; kept once`);
      return;
    }
    seen.add(d);
    if (matchingPrefix(d, prefixes) === undefined) {
      unmapped.push(
        `domains: "${d}" starts with none of domain_prefixes ${JSON.stringify(prefixes)}; wgkex never accepted it either, so it is left out`,
      );
      return;
    }
    domains.push(d);
  });
  if (domains.length === 0) fail("domains", `none starts with one of domain_prefixes ${JSON.stringify(prefixes)}`);
  mapped.push(`domains: ${domains.length} -> edge domains and one agent domain each`);
  mapped.push(`domain_prefixes: ${JSON.stringify(prefixes)} -> edge and agent domain_prefixes`);

  // ---- workers
  const workersRaw = raw.workers ?? {};
  if (!isMapping(workersRaw)) {
    fail("workers", `must be a mapping of worker host name to {weight: N, pop: …}, not ${describe(workersRaw)}`);
  }
  const workerKeys = Object.keys(workersRaw);
  const names = gatewayNames(workerKeys);
  const gateways: ImportedGateway[] = workerKeys.map((w) => {
    const entry = workersRaw[w] ?? {};
    if (!isMapping(entry)) fail(`workers.${w}`, `must be a mapping such as {weight: 30}, not ${describe(entry)}`);
    const weight = parseWeight(entry.weight, `workers.${w}.weight`);
    let location: string | undefined;
    if (entry.pop !== undefined && entry.pop !== null && entry.pop !== "") {
      if (typeof entry.pop !== "string") fail(`workers.${w}.pop`, `must be a string, not ${describe(entry.pop)}`);
      if (entry.pop.length > 64) fail(`workers.${w}.pop`, "must be at most 64 characters (our location)");
      location = entry.pop;
    }
    for (const k of Object.keys(entry)) {
      if (k === "id") unmapped.push(`workers.${w}.id: Parker concentrator id, not needed`);
      else if (k !== "weight" && k !== "pop") unmapped.push(`workers.${w}.${k}: unknown worker field, ignored`);
    }
    const name = names.get(w)!;
    mapped.push(
      `workers.${w} -> gateway "${name}", weight ${weight}${location ? `, location "${location}" (from pop)` : ""}`,
    );
    return { name, worker: w, weight, location, externalAddress: undefined, externalGuess: undefined };
  });

  // ---- externalName: the worker this file belongs to
  const externalName = raw.externalName;
  if (externalName !== undefined && externalName !== null && typeof externalName !== "string") {
    fail("externalName", `must be a host name such as gw04.ext.ffmuc.net, not ${describe(externalName)}`);
  }
  const extLabel = typeof externalName === "string" ? externalName.toLowerCase().split(".")[0] : undefined;
  let owner: ImportedGateway | undefined;
  if (options.gateway !== undefined) {
    owner = gateways.find((g) => g.name === options.gateway || g.worker === options.gateway);
    if (!owner) {
      if (gateways.length > 0) {
        fail(
          "--gateway",
          `"${options.gateway}" is none of the workers (${gateways.map((g) => `${g.name} = ${g.worker}`).join(", ")})`,
        );
      }
      if (!GATEWAY_NAME.test(options.gateway)) fail("--gateway", "must be 1-32 characters of a-z, 0-9 and '-'");
    }
  } else if (extLabel !== undefined) {
    owner = gateways.find((g) => g.worker?.toLowerCase().split(".")[0] === extLabel);
  }
  if (gateways.length === 0) {
    // wgkex without workers: every worker had weight 1. We need at least the gateway of this file.
    const name = options.gateway ?? (extLabel && GATEWAY_NAME.test(extLabel) ? extLabel : undefined);
    if (name === undefined) {
      fail("workers", "is empty and there is no externalName to name this gateway after; pass --gateway NAME");
    }
    owner = {
      name,
      worker: undefined,
      weight: 1,
      location: undefined,
      externalAddress: undefined,
      externalGuess: undefined,
    };
    gateways.push(owner);
    unmapped.push(
      `workers: none configured (wgkex weighs every worker 1); the edge lists only "${name}": add your other gateways to gateways = [...]`,
    );
  }
  if (typeof externalName === "string") {
    if (owner) {
      owner.externalAddress = externalName;
      mapped.push(`externalName ${externalName} -> external_address of gateway "${owner.name}"`);
      // gw04.ext.ffmuc.net -> guess gw05.ext.ffmuc.net for the others (comment only).
      const ownLabel = owner.worker?.toLowerCase().split(".")[0] ?? owner.name;
      if (extLabel === ownLabel) {
        const rest = externalName.slice(
          externalName.indexOf(".") === -1 ? externalName.length : externalName.indexOf("."),
        );
        for (const g of gateways) {
          if (g !== owner && rest) g.externalGuess = `${g.worker?.split(".")[0] ?? g.name}${rest}`;
        }
      }
    } else {
      unmapped.push(
        `externalName ${externalName}: matches none of the workers by its first label; pass --gateway NAME to say whose file this is`,
      );
    }
  } else {
    unmapped.push("externalName: not set (broker-only file?); every agent's external_address is a placeholder");
  }
  for (const g of gateways) {
    if (!g.externalAddress) {
      unmapped.push(
        `gateway "${g.name}": external_address (the name v2 answers send nodes to, wgkex's externalName in that worker's own wgkex.yaml) is ${PLACEHOLDER}${g.externalGuess ? `; probably ${g.externalGuess}` : ""}`,
      );
    }
  }

  // ---- everything else
  for (const key of Object.keys(raw)) {
    if (["domains", "domain_prefixes", "domain_prefix", "workers", "externalName"].includes(key)) continue;
    unmapped.push(`${key}: ${NOT_MAPPED[key] ?? "unknown wgkex setting, ignored"}`);
  }
  if (raw.mqtt === undefined) unmapped.push(`mqtt: not present (wgkex requires it; nothing to do for wgkex-edge)`);

  // ---- the edge's table
  const edgeConfig: ImportResult["edgeConfig"] = {
    domains,
    domain_prefixes: prefixes,
    retention_hours: 168,
    gateways: gateways.map((g) => ({
      name: g.name,
      weight: g.weight,
      ...(g.location ? { location: g.location } : {}),
    })),
  };
  const header = `Generated by wgkex-agent import-wgkex${options.source ? ` from ${options.source}` : ""}.`;
  const edgeToml = [
    `# ${header}`,
    "# Paste into wrangler.toml. For production, use the header [env.production.vars.WGKEX_CONFIG].",
    "# Every field: docs/configuration.md. Tokens are secrets: wrangler secret put GATEWAY_TOKENS / ADMIN_TOKEN.",
    "[vars.WGKEX_CONFIG]",
    "domains = [",
    ...domains.map((d) => `  ${toml(d)},`),
    "]",
    `domain_prefixes = [${prefixes.map(toml).join(", ")}]`,
    "retention_hours = 168",
    "gateways = [",
    ...gateways.map(
      (g) =>
        `  { name = ${toml(g.name)}, weight = ${g.weight}${g.location ? `, location = ${toml(g.location)}` : ""} },${g.worker ? ` # wgkex worker ${g.worker}` : ""}`,
    ),
    "]",
    "",
  ].join("\n");

  // ---- agent skeletons
  const targets = options.gateway !== undefined ? gateways.filter((g) => g === owner) : gateways;
  const agents = new Map<string, string>();
  for (const g of targets) agents.set(g.name, agentSkeleton(g, gateways, domains, prefixes, options, header));

  const suffixProblems = domains.filter((d) => !SUFFIX.test(d.slice(matchingPrefix(d, prefixes)!.length)));
  for (const d of suffixProblems) {
    unmapped.push(
      `domain ${d}: the interface suffix "${d.slice(matchingPrefix(d, prefixes)!.length)}" is longer than 11 characters (bat-<suffix> must fit 15); interface_suffix is ${PLACEHOLDER}`,
    );
  }
  unmapped.push(
    `per domain listen_port and domain_seed (or vni): wgkex's worker never knew them (the interfaces were made outside wgkex); they are ${PLACEHOLDER} in every agent skeleton`,
    `per domain static_peers: the other gateways' public keys are ${PLACEHOLDER}; the agent never removes static peers (wgkex #84) but removes peers that are neither registered nor static (on a snapshot, by stale cleanup), so list them or delete static_peers if your gateways do not peer with each other`,
  );

  const report = renderReport(mapped, unmapped, agents);
  return { domains, domainPrefixes: prefixes, gateways, edgeConfig, edgeToml, agents, mapped, unmapped, report };
}

function agentSkeleton(
  g: ImportedGateway,
  all: ImportedGateway[],
  domains: string[],
  prefixes: string[],
  options: ImportOptions,
  header: string,
): string {
  const P = PLACEHOLDER;
  const out: string[] = [
    `# wgkex-agent configuration for gateway ${g.name}. ${header}`,
    `# Replace every ${P} (wgkex-agent check refuses to start until you do); every field: gateway-agent/README.md.`,
    `gateway: ${g.name}${g.worker ? ` # wgkex worker ${g.worker}` : ""}`,
    "edge:",
    `  url: ${options.edgeUrl ? yamlStr(options.edgeUrl) : `"https://${P}.example" # ${P}: the edge's URL, e.g. https://broker.ffmuc.net`}`,
    "  token_file: /etc/wgkex-agent/token # this gateway's entry of the GATEWAY_TOKENS secret",
    g.externalAddress
      ? `external_address: ${yamlStr(g.externalAddress)} # wgkex externalName`
      : `external_address: ${P} # ${P}: this gateway's public name (wgkex externalName)${g.externalGuess ? `, probably ${g.externalGuess}` : ""}`,
    `domain_prefixes: [${prefixes.map(yamlStr).join(", ")}]`,
    "state_dir: /var/lib/wgkex-agent",
    "log_level: info",
    "metrics:",
    '  listen: "127.0.0.1:9761"',
    "wireguard:",
    "  implementation: kernel",
    "cleanup:",
    "  interval_s: 300",
    "  stale_after_s: 10800 # wgkex: 3 h without handshake",
    "  grace_s: 600 # never-handshaked peers get 10 minutes",
    "domains:",
  ];
  const others = all.filter((o) => o !== g);
  for (const d of domains) {
    const suffix = d.slice(matchingPrefix(d, prefixes)!.length);
    let wgIf: string;
    let suffixLine: string | undefined;
    if (SUFFIX.test(suffix)) {
      wgIf = interfacesForSuffix(suffix).wireguard;
    } else {
      wgIf = "wg-<suffix>";
      suffixLine = `    interface_suffix: ${P} # ${P}: at most 11 characters ("${suffix}" is too long)`;
    }
    out.push(
      `  ${d}:`,
      `    listen_port: ${P} # ${P}: UDP port of ${wgIf} (wg show ${wgIf} listen-port)`,
      `    private_key_file: /etc/wgkex-agent/${wgIf}.key # wg show ${wgIf} private-key > this file (mode 0600)`,
      `    domain_seed: ${P} # ${P}: domain_seed from the Gluon site's domains/${d}.conf, or replace with vni: N (ip -d link show ${wgIf.replace(/^wg-/, "vx-")})`,
      ...(suffixLine ? [suffixLine] : []),
      "    variant: wgkex",
      "    batman:",
      "      gw_mode: server",
      "      throughput_override: 1000mbit",
      "      bridge: false # true when bat-<suffix> is bridged into br-<suffix>",
    );
    if (others.length === 0) out.push("    static_peers: []");
    else {
      out.push("    static_peers: # the other gateways on this interface: never removed by cleanup");
      for (const o of others) {
        out.push(`      - name: ${o.name}`, `        public_key: ${P} # ${P}: wg show ${wgIf} public-key on ${o.name}`);
      }
    }
  }
  return `${out.join("\n")}\n`;
}

function renderReport(mapped: string[], unmapped: string[], agents: Map<string, string>): string {
  const placeholders = [...agents.values()].reduce(
    (n, t) => n + t.split("\n").filter((line) => line.includes(PLACEHOLDER) && !line.startsWith("#")).length,
    0,
  );
  return [
    "Mapped:",
    ...mapped.map((m) => `  + ${m}`),
    "Not mapped / needs you:",
    ...unmapped.map((m) => `  - ${m}`),
    `${placeholders} ${PLACEHOLDER} placeholder(s) in ${agents.size} agent skeleton(s); then run: wgkex-agent check --config <file>`,
    "",
  ].join("\n");
}
