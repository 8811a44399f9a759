import { domainNameSchema } from "@wgkex-edge/shared";
import {
  ANSWER_FORMATS,
  type Family,
  layoutCapacity,
  type ParkerLayout,
  parseAddress,
  parsePrefix,
  parseSignifyPublicKey,
  prefixOf,
  SigningKeyError,
} from "@wgkex-edge/shared/parker";
import { z } from "zod";

/**
 * The `parker` section of WGKEX_CONFIG: one Parker network per deployment, served on
 * `GET /config` and `GET /api/v3/config`, whose concentrators are the gateways of
 * `parker.domain`. See docs/parker.md for every field.
 */
const prefixText = (family: Family) =>
  z.string().superRefine((text, ctx) => {
    const parsed = parsePrefix(text);
    if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.reason });
    else if (parsed.prefix.family !== family) {
      ctx.addIssue({ code: "custom", message: `"${text}" is not an IPv${family} prefix` });
    }
  });

const addressText = (family: Family) =>
  z.string().refine((text) => parseAddress(text)?.family === family, {
    message: `must be an IPv${family} address (a literal: the Worker cannot resolve names)`,
  });

const seconds = z.number().int().positive();

export const parkerLimitsSchema = z.strictObject({
  /** New allocations one client address (IPv4, or IPv6 /64) may get per window. */
  new_per_source: z.number().int().min(1).default(5),
  new_per_source_window_s: seconds.default(3600),
  /** New allocations per hour over all sources (a token bucket that holds an hour's worth). */
  new_per_hour: z.number().int().min(1).default(120),
  /** Allocations that never saw a handshake may fill at most this share of the pool. */
  max_unconfirmed_percent: z.number().min(0.1).max(100).default(10),
  /** `retry` of the signed "come back later" answer (throttled, pool full, no concentrator). */
  backoff_retry_s: seconds.max(86_400).default(3600),
});

export const parkerExpirySchema = z.strictObject({
  /** An allocation whose node never completed a handshake is freed after this long. */
  unconfirmed_h: z
    .number()
    .positive()
    .max(24 * 30)
    .default(2),
  /** An allocation whose node had no handshake for this long is freed. */
  idle_days: z.number().positive().max(3650).default(60),
});

export const parkerSchema = z.strictObject({
  /** The domain whose gateways are the concentrators (and whose object holds the IPAM). */
  domain: domainNameSchema,
  /** The signify public key routers pin: site.conf `parker.config_pubkey`. */
  public_key: z.string().superRefine((text, ctx) => {
    try {
      parseSignifyPublicKey(text);
    } catch (error) {
      if (error instanceof SigningKeyError) ctx.addIssue({ code: "custom", message: error.message });
      else throw error;
    }
  }),
  /** The key signs nothing after this instant (ISO 8601). */
  key_not_after: z.iso.datetime({ offset: true }).optional(),
  /** Byte format of the answer: etcd-tools' (`ffbs`, numeric id) or wgkex's (`wgkex`). */
  answer_format: z.enum(ANSWER_FORMATS).default("ffbs"),
  ipv6: z.strictObject({ pool: prefixText(6), length: z.number().int().min(1).max(64) }),
  ipv4: z.union([
    z.strictObject({ pool: prefixText(4), length: z.number().int().min(1).max(30) }),
    z.strictObject({ shared: prefixText(4) }),
  ]),
  /** 464XLAT (FFMUC): each allocation's second /64 goes out as `xlat_range6`. */
  xlat: z.boolean().default(false),
  /** Lowest allocation index; 1 keeps the pools' first subnet back, as wgkex does. */
  first_index: z.number().int().min(0).default(1),
  /** Seconds until the node asks again (FFBS 20, wgkex 120), spread by `retry_jitter_percent`. */
  retry_s: z.number().int().min(10).max(86_400).default(120),
  retry_jitter_percent: z.number().min(0).max(100).default(10),
  wg_keepalive: z.number().int().min(0).max(65_535).default(25),
  mtu: z
    .strictObject({
      max: z.number().int().min(1280).max(9000).default(1375),
      min: z.number().int().min(1280).max(9000).default(1280),
      overhead: z.number().int().min(0).max(200).default(80),
    })
    .default({ max: 1375, min: 1280, overhead: 80 }),
  /** A node stays on its concentrator while that one is within max(1, this % of its target). */
  sticky_tolerance_percent: z.number().min(0).max(1000).default(10),
  /** A concentrator whose socket dropped keeps its nodes this long (agents reconnect). */
  offline_grace_s: seconds.default(600),
  /** A node's request pushes its key and ranges to its concentrators again after this long (0: every request). */
  repush_s: z.number().int().min(0).max(86_400).default(600),
  limits: parkerLimitsSchema.default(parkerLimitsSchema.parse({})),
  expiry: parkerExpirySchema.default(parkerExpirySchema.parse({})),
  /** The status page and /metrics raise the pool alarm above this share in use. */
  pool_alarm_percent: z.number().min(1).max(100).default(90),
});

/** A gateway's part as a Parker concentrator. */
export const gatewayParkerSchema = z.strictObject({
  /** Nodes name the tunnel `wg_c<id>`: unique, stable, 1..99999999999 (IFNAMSIZ). */
  id: z.number().int().min(1).max(99_999_999_999),
  /** One concentrator per PoP goes to each node; default: the gateway's location, else "". */
  pop: z.string().max(64).optional(),
  /** Endpoint addresses nodes connect to, per family (the port comes from the agent). */
  endpoint4: addressText(4).optional(),
  endpoint6: addressText(6).optional(),
});

export type ParkerConfig = z.infer<typeof parkerSchema>;
export type GatewayParkerConfig = z.infer<typeof gatewayParkerSchema>;

type Issue = { path: (string | number)[]; message: string };

interface GatewayLike {
  name: string;
  location?: string | undefined;
  domains?: string[] | undefined;
  parker?: GatewayParkerConfig | undefined;
}

const layouts = new WeakMap<ParkerConfig, ParkerLayout>();

/** The address layout the section describes (parsed once per config object). */
export function parkerLayout(parker: ParkerConfig): ParkerLayout {
  let layout = layouts.get(parker);
  if (layout === undefined) {
    layout = {
      ipv6: { pool: prefixOf(parker.ipv6.pool), length: parker.ipv6.length },
      ipv4:
        "pool" in parker.ipv4
          ? { pool: prefixOf(parker.ipv4.pool), length: parker.ipv4.length }
          : { shared: prefixOf(parker.ipv4.shared) },
      xlat: parker.xlat,
      firstIndex: parker.first_index,
    };
    layouts.set(parker, layout);
  }
  return layout;
}

/** Rules across fields and sections; each issue names its field. */
export function parkerIssues(
  parker: ParkerConfig,
  domains: readonly string[],
  gateways: readonly GatewayLike[],
): Issue[] {
  const issues: Issue[] = [];
  if (!domains.includes(parker.domain)) {
    issues.push({ path: ["parker", "domain"], message: `"${parker.domain}" is not in domains` });
  }
  const v6 = parsePrefix(parker.ipv6.pool);
  if (v6.ok) {
    if (parker.ipv6.length < v6.prefix.length) {
      issues.push({ path: ["parker", "ipv6", "length"], message: `/${parker.ipv6.length} is shorter than the pool` });
    } else if (parker.xlat && parker.ipv6.length > 63) {
      issues.push({
        path: ["parker", "ipv6", "length"],
        message: "464XLAT needs two /64s per node (range6 and xlat_range6): use 63 or shorter",
      });
    } else if (!parker.xlat && parker.ipv6.length !== 64) {
      issues.push({
        path: ["parker", "ipv6", "length"],
        message: "without xlat every node gets one /64 (SLAAC needs exactly a /64): use 64",
      });
    }
  }
  if ("pool" in parker.ipv4) {
    const v4 = parsePrefix(parker.ipv4.pool);
    if (v4.ok && parker.ipv4.length < v4.prefix.length) {
      issues.push({ path: ["parker", "ipv4", "length"], message: `/${parker.ipv4.length} is shorter than the pool` });
    }
  }
  if (parker.mtu.min > parker.mtu.max) {
    issues.push({ path: ["parker", "mtu", "min"], message: "is larger than mtu.max" });
  }
  if (issues.length === 0 && !hasRoom(parker)) {
    issues.push({ path: ["parker", "first_index"], message: "leaves no allocation in the pools" });
  }

  const ids = new Map<number, string>();
  gateways.forEach((gateway, i) => {
    const serves = gateway.domains === undefined || gateway.domains.includes(parker.domain);
    if (!serves) return;
    if (gateway.parker === undefined) {
      issues.push({
        path: ["gateways", i, "parker"],
        message: `gateway "${gateway.name}" serves the Parker domain ${parker.domain}: give it parker = { id, endpoint4 and/or endpoint6 }`,
      });
      return;
    }
    const other = ids.get(gateway.parker.id);
    if (other !== undefined) {
      issues.push({
        path: ["gateways", i, "parker", "id"],
        message: `id ${gateway.parker.id} is also "${other}"'s: nodes would get one tunnel for two concentrators`,
      });
    }
    ids.set(gateway.parker.id, gateway.name);
    if (gateway.parker.endpoint4 === undefined && gateway.parker.endpoint6 === undefined) {
      issues.push({ path: ["gateways", i, "parker"], message: "needs endpoint4, endpoint6 or both" });
    }
  });
  return issues;
}

function hasRoom(parker: ParkerConfig): boolean {
  try {
    return layoutCapacity(parkerLayout(parker)) > 0;
  } catch {
    return false;
  }
}

/** The PoP a concentrator belongs to: its own setting, else the gateway's location, else "". */
export const popOf = (gateway: GatewayLike): string => gateway.parker?.pop ?? gateway.location ?? "";
