import {
  type AddressVariant,
  addressVariantSchema,
  describeIssues,
  domainNameSchema,
  findPlaceholders,
  gatewayNameSchema,
  IMPORT_PLACEHOLDER,
  MAX_FRAME_CHARS,
  matchingPrefix,
} from "@wgkex-edge/shared";
import { z } from "zod";
import { gatewayParkerSchema, parkerIssues, parkerSchema } from "./parker.ts";

const positiveInt = z.number().int().positive();
/** 256 KiB: more than the edge's largest frame (1,000 peer entries of ~100 characters). */
const UNACKED_MIN = 256 * 1024;

export const gatewayConfigSchema = z.strictObject({
  /** The name the gateway's agent connects with; its token is GATEWAY_TOKENS[name]. */
  name: gatewayNameSchema,
  /** wgkex's worker weight: share of nodes relative to the other gateways. */
  weight: z.number().positive().default(1),
  /** Free text a v2 request's `location` field may ask for, e.g. "muc". */
  location: z.string().max(64).optional(),
  /** At most this many connected peers (summed over all domains) before new nodes go elsewhere. */
  cap: positiveInt.optional(),
  /** Maintenance: v2 sends no node here, not even ones that were here before. */
  drain: z.boolean().default(false),
  /** Domains this gateway serves; all domains when absent. */
  domains: z.array(domainNameSchema).optional(),
  /** Required on the gateways of the Parker domain: its concentrator id and endpoints. */
  parker: gatewayParkerSchema.optional(),
});

export const domainSettingsSchema = z.strictObject({
  variant: addressVariantSchema.default("wgkex"),
});

export const limitsSchema = z.strictObject({
  /** Off only for benchmarks: no per-address or per-key limits at all. */
  enabled: z.boolean().default(true),
  /** Registrations one key may make per window before it is throttled. */
  per_key: z.number().int().min(1).default(6),
  per_key_window_s: positiveInt.default(60),
  /** Throttled requests of one key (within ban_window_s) before it is banned. */
  ban_after: z.number().int().min(1).default(20),
  ban_window_s: positiveInt.default(600),
  ban_s: positiveInt.default(3600),
  /** Largest request body accepted on the node API, in bytes. */
  max_body_bytes: z.number().int().min(128).max(65536).default(4096),
});

/**
 * What one gateway may send on one domain's socket (issue 12): past any of these the edge
 * answers `error over_budget` and closes; the agent comes back after its longest backoff.
 * A real agent sends an ack per installed batch (at most ~50/s in a storm), a load report a
 * minute and its live keys every 5 minutes (~47 bytes per key, all at once).
 */
export const gatewayBudgetSchema = z.strictObject({
  frames_per_s: positiveInt.default(100),
  frames_burst: positiveInt.default(2000),
  /** Characters of frame text (the protocol is ASCII JSON: bytes). */
  bytes_per_s: positiveInt.default(64 * 1024),
  /** At least one frame of the largest size; the default takes the live keys of ~170,000 peers at once. */
  bytes_burst: z
    .number()
    .int()
    .min(MAX_FRAME_CHARS, { message: `must be at least ${MAX_FRAME_CHARS}, the largest frame` })
    .default(8 * 1024 * 1024),
  /** Each hello is answered with a replay or a snapshot: the expensive frame. */
  hellos_per_min: positiveInt.default(6),
  hellos_burst: positiveInt.default(10),
  /**
   * What the edge sends one socket without an ack before it closes it (a gateway that stops
   * reading): more than a snapshot of the domain (~47 bytes a key; 16 MiB is ~350,000 keys),
   * and at least the largest frame the edge sends (1,000 peer entries, ~100 KB).
   */
  unacked_bytes: z
    .number()
    .int()
    .min(UNACKED_MIN, { message: `must be at least ${UNACKED_MIN}, more than the largest frame the edge sends` })
    .default(16 * 1024 * 1024),
});

/**
 * Peers gateways report finding on their interfaces without having been given them (a wgkex
 * gateway taken over): each becomes a registration of the domain, sent to every gateway. A
 * gateway can thereby put keys on the others, so how many new keys it may add is bounded,
 * per gateway and per domain, in a fixed window; the rest is counted and refused (the agent
 * keeps those peers and reports them again later).
 */
export const adoptionSchema = z.strictObject({
  /** false: reports are counted and refused, nothing is recorded. */
  enabled: z.boolean().default(true),
  /** New keys one gateway may add to a domain per window (a 600-peer gateway at once fits). */
  per_gateway: z.number().int().min(0).default(1000),
  /** New keys all gateways together may add to a domain per window. */
  per_domain: z.number().int().min(0).default(5000),
  window_s: positiveInt.default(3600),
});

export const edgeConfigSchema = z
  .strictObject({
    domains: z.array(domainNameSchema).min(1, { message: "list at least one domain" }),
    domain_prefixes: z.array(z.string().min(1)).min(1, { message: "list at least one domain prefix, e.g. ffmuc_" }),
    domain_settings: z.record(z.string(), domainSettingsSchema).default({}),
    gateways: z.array(gatewayConfigSchema).default([]),
    limits: limitsSchema.default(limitsSchema.parse({})),
    /** Off with `limits.enabled: false` (benchmarks), like every other limit. */
    gateway_budget: gatewayBudgetSchema.default(gatewayBudgetSchema.parse({})),
    /** /status and /api/v1/status are collected at most this often per isolate (0 = every request). */
    status_cache_s: z.number().int().min(0).max(300).default(5),
    adoption: adoptionSchema.default(adoptionSchema.parse({})),
    /** Keys neither registered nor reported live for this long leave the desired set. */
    retention_hours: z
      .number()
      .positive()
      .max(24 * 365)
      .default(168),
    /** Parker (API v3, routed nodes): docs/parker.md. */
    parker: parkerSchema.optional(),
  })
  .superRefine((config, ctx) => {
    if (config.parker) {
      for (const issue of parkerIssues(config.parker, config.domains, config.gateways)) {
        ctx.addIssue({ code: "custom", ...issue });
      }
    }
    config.domains.forEach((domain, i) => {
      if (matchingPrefix(domain, config.domain_prefixes) === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["domains", i],
          message: `"${domain}" starts with none of domain_prefixes ${JSON.stringify(config.domain_prefixes)}; nodes could never register for it`,
        });
      }
    });
    for (const domain of Object.keys(config.domain_settings)) {
      if (!config.domains.includes(domain)) {
        ctx.addIssue({
          code: "custom",
          path: ["domain_settings", domain],
          message: `settings for "${domain}", which is not in domains`,
        });
      }
    }
    const seen = new Set<string>();
    config.gateways.forEach((gateway, i) => {
      if (seen.has(gateway.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["gateways", i, "name"],
          message: `gateway "${gateway.name}" is listed twice`,
        });
      }
      seen.add(gateway.name);
      gateway.domains?.forEach((domain, j) => {
        if (!config.domains.includes(domain)) {
          ctx.addIssue({
            code: "custom",
            path: ["gateways", i, "domains", j],
            message: `"${domain}" is not in domains`,
          });
        }
      });
    });
  });

export type EdgeConfig = z.infer<typeof edgeConfigSchema>;
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
export type Limits = z.infer<typeof limitsSchema>;
export type GatewayBudgetLimits = z.infer<typeof gatewayBudgetSchema>;
export type AdoptionLimits = z.infer<typeof adoptionSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parse the WGKEX_CONFIG var; the error names every offending field. */
export function parseEdgeConfig(raw: unknown): EdgeConfig {
  let value = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ConfigError("WGKEX_CONFIG: not valid JSON (set it as a table under [vars] in wrangler.toml)");
    }
  }
  if (value === undefined || value === null) {
    throw new ConfigError("WGKEX_CONFIG: missing; define [vars.WGKEX_CONFIG] in wrangler.toml");
  }
  // A value `wgkex-agent import-wgkex` could not know must never reach production, even
  // where the field's own rule would take it (a location, a name).
  const placeholders = findPlaceholders(value).map(
    (p) =>
      `${p.path}: is still the import-wgkex placeholder ${IMPORT_PLACEHOLDER}: replace it with the real value (docs/configuration.md)`,
  );
  if (placeholders.length > 0) throw new ConfigError(`WGKEX_CONFIG invalid: ${placeholders.join("; ")}`);
  const result = edgeConfigSchema.safeParse(value);
  if (!result.success) throw new ConfigError(`WGKEX_CONFIG invalid: ${describeIssues(result.error)}`);
  return result.data;
}

export function domainVariant(config: EdgeConfig, domain: string): AddressVariant {
  return config.domain_settings[domain]?.variant ?? "wgkex";
}

/** Gateways that serve a domain, in configuration order (ties in the v2 choice go to the first). */
export function gatewaysOf(config: EdgeConfig, domain: string): GatewayConfig[] {
  return config.gateways.filter((g) => g.domains === undefined || g.domains.includes(domain));
}
