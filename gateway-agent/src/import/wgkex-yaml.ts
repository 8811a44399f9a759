/**
 * Reading wgkex.yaml (as wgkex/config/config.py reads it): domains, prefixes and workers,
 * each failure naming the field. What has no counterpart is listed, not guessed.
 */
import { DOMAIN_NAME_PATTERN, matchingPrefix } from "@wgkex-edge/shared";
import { parseDocument } from "yaml";

export const GATEWAY_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

export class WgkexImportError extends Error {
  override name = "WgkexImportError";
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

/** What one pass over wgkex.yaml found, with the lines of the import report so far. */
export interface WgkexFile {
  raw: Record<string, unknown>;
  prefixes: string[];
  domains: string[];
  gateways: ImportedGateway[];
  /** The agent's log_level from wgkex's, when wgkex.yaml sets one. */
  logLevel: "debug" | "info" | "warn" | "error" | undefined;
  mapped: string[];
  unmapped: string[];
}

/** Keys of wgkex.yaml the importer reads; everything else is reported. */
const READ = new Set(["domains", "domain_prefixes", "domain_prefix", "workers", "externalName", "log_level"]);

/** Keys of wgkex.yaml that have no counterpart, with what to do instead. */
const NOT_MAPPED: Record<string, string> = {
  mqtt: "MQTT is gone: agents hold a WebSocket to the edge, authenticated with a per-gateway bearer token (GATEWAY_TOKENS secret, agent edge.token_file); retire the MQTT broker after the switch",
  broker_listen:
    "the edge is a Cloudflare Worker: no listen address; the broker name routers use becomes the Worker's custom domain (docs/deployment.md)",
  logging_config:
    "Python logging configuration: the agent logs JSON lines to stderr (journald) with log_level debug|info|warn|error; the edge logs to Workers Logs",
  parker:
    "Parker (prefix allocation, 464XLAT, concentrator selection) is not supported by wgkex-edge; only the VXLAN/batman-adv mode is",
  netbox: "NetBox IPAM belongs to Parker: not supported",
  broker_signing_key: "signed Parker configurations: not supported",
  sticky_worker_tolerance:
    "Parker's sticky concentrator choice: not supported; the edge's v2 choice balances by weight, with location, cap and drain per gateway",
  cleanup:
    "wgkex worker cleanup timings: the agent's cleanup.stale_after_s (default 10800) and cleanup.grace_s (default 600) apply; copy values by hand if you changed them",
};

/** Python logging levels -> the agent's. */
const LOG_LEVELS: Record<string, WgkexFile["logLevel"]> = {
  DEBUG: "debug",
  INFO: "info",
  WARNING: "warn",
  WARN: "warn",
  ERROR: "error",
  CRITICAL: "error",
};

export function fail(field: string, message: string): never {
  throw new WgkexImportError(`${field}: ${message}`);
}

export function describe(v: unknown): string {
  if (v === null) return "empty";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}

export const isMapping = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

export function readWgkexYaml(text: string): WgkexFile {
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
  const prefixes = readPrefixes(raw, mapped, unmapped);
  const domains = readDomains(raw, prefixes, mapped, unmapped);
  const gateways = readWorkers(raw, mapped, unmapped);
  const logLevel = readLogLevel(raw, mapped, unmapped);
  for (const key of Object.keys(raw)) {
    if (READ.has(key)) continue;
    unmapped.push(`${key}: ${NOT_MAPPED[key] ?? "unknown wgkex setting, ignored"}`);
  }
  if (raw.mqtt === undefined) unmapped.push("mqtt: not present (wgkex requires it; nothing to do for wgkex-edge)");
  return { raw, prefixes, domains, gateways, logLevel, mapped, unmapped };
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

/** domain_prefixes (old wgkex: a single domain_prefix). */
function readPrefixes(raw: Record<string, unknown>, mapped: string[], unmapped: string[]): string[] {
  if (raw.domain_prefixes === undefined && typeof raw.domain_prefix === "string") {
    mapped.push(`domain_prefix "${raw.domain_prefix}" (old single-prefix form) -> domain_prefixes`);
    return [raw.domain_prefix];
  }
  const prefixes = stringList(raw, "domain_prefixes", "[ffmuc_]");
  if (raw.domain_prefix !== undefined) unmapped.push("domain_prefix: ignored, domain_prefixes is set");
  return prefixes;
}

function readDomains(raw: Record<string, unknown>, prefixes: string[], mapped: string[], unmapped: string[]) {
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
  return domains;
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

function readWorkers(raw: Record<string, unknown>, mapped: string[], unmapped: string[]): ImportedGateway[] {
  const workersRaw = raw.workers ?? {};
  if (!isMapping(workersRaw)) {
    fail("workers", `must be a mapping of worker host name to {weight: N, pop: …}, not ${describe(workersRaw)}`);
  }
  const workerKeys = Object.keys(workersRaw);
  const names = gatewayNames(workerKeys);
  return workerKeys.map((w) => {
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
}

function readLogLevel(raw: Record<string, unknown>, mapped: string[], unmapped: string[]): WgkexFile["logLevel"] {
  if (raw.log_level === undefined || raw.log_level === null) return undefined;
  const level = typeof raw.log_level === "string" ? LOG_LEVELS[raw.log_level.toUpperCase()] : undefined;
  if (level === undefined) {
    unmapped.push(
      `log_level: ${describe(raw.log_level)} is no Python logging level; the agent's log_level is info (debug|info|warn|error)`,
    );
    return undefined;
  }
  mapped.push(`log_level ${String(raw.log_level)} -> agent log_level ${level}`);
  return level;
}
