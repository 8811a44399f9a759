import {
  addressVariantSchema,
  type DomainInterfaces,
  domainNameSchema,
  domainSeedSchema,
  externalAddressSchema,
  gatewayNameSchema,
  interfacesForSuffix,
  matchingPrefix,
  publicKeySchema,
  vniFromDomainSeed,
  vniSchema,
} from "@wgkex-edge/shared";
import { parseAddress, parsePrefix } from "@wgkex-edge/shared/parker";
import { z } from "zod";

const missing = (what: string) => (issue: { input?: unknown; code?: string }) =>
  issue.input === undefined ? `is required: ${what}` : undefined;

const str = (what: string) => z.string({ error: (iss) => missing(what)(iss) ?? `must be a string: ${what}` });
const absPath = (what: string) =>
  str(what).refine((p) => p.startsWith("/"), { message: `must be an absolute path (${what})` });
const port = (what: string) =>
  z
    .number({ error: (iss) => missing(what)(iss) ?? `must be a number: ${what}` })
    .int({ message: "must be a whole number" })
    .min(1, { message: "must be a UDP port between 1 and 65535" })
    .max(65535, { message: "must be a UDP port between 1 and 65535" });
const seconds = (dflt: number) =>
  z
    .number({ error: "must be a number of seconds" })
    .int({ message: "must be a whole number of seconds" })
    .min(1, { message: "must be at least 1 second" })
    .default(dflt);

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+|[0-9.]+):(\d{1,5})$/;

export const staticPeerSchema = z.strictObject({
  name: str("a label for the other gateway, e.g. gw02"),
  public_key: publicKeySchema,
  endpoint: z
    .string()
    .regex(HOST_PORT, {
      message: 'must be "host:port" (IPv6 in brackets: "[2001:db8::1]:40011"), the other gateway\'s WireGuard endpoint',
    })
    .optional(),
  persistent_keepalive: z.number().int().min(0).max(65535).optional(),
});

export const batmanSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    routing_algo: z
      .enum(["BATMAN_V", "BATMAN_IV"], { message: 'must be "BATMAN_V" or "BATMAN_IV"' })
      .default("BATMAN_V"),
    gw_mode: z.enum(["server", "client", "off"], { message: 'must be "server", "client" or "off"' }).default("server"),
    throughput_override: z
      .string()
      .regex(/^\d+(\.\d+)?(kbit|mbit|gbit)?$/i, { message: 'must be a rate such as "1000mbit" (batctl syntax)' })
      .nullable()
      .default("1000mbit"),
    hop_penalty: z.number().int().min(0).max(255, { message: "must be 0-255" }).optional(),
    bridge: z.boolean().default(false),
  })
  .prefault({});

const prefixText = z.string().superRefine((text, ctx) => {
  const parsed = parsePrefix(text);
  if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.reason });
});

/** Parker (routed nodes): what this concentrator routes and the next hops it gives nodes. */
export const parkerDomainSchema = z.strictObject({
  /** The prefixes node ranges may come from (the edge's parker.ipv6/ipv4 pools); others are refused. */
  pools: z.array(prefixText).min(1, { message: "list the edge's Parker pools, e.g. [2001:db8:100::/48, 10.0.0.0/16]" }),
  /** This concentrator's IPv4 on its Parker interface: the nodes' IPv4 next hop (address4). */
  address4: z.string().refine((a) => parseAddress(a)?.family === 4, { message: "must be an IPv4 address" }),
  /** Its IPv6 link-local address there: the nodes' IPv6 next hop (address6). */
  address6: z
    .string()
    .regex(/^fe80::[0-9a-f:]+$/, { message: "must be a link-local address in canonical form, e.g. fe80::1" })
    .default("fe80::1"),
});

export const domainSchema = z
  .strictObject({
    /** `batman`: WireGuard + VXLAN + batman-adv (wgkex). `parker`: routed nodes, WireGuard only. */
    mode: z.enum(["batman", "parker"], { message: 'must be "batman" or "parker"' }).default("batman"),
    parker: parkerDomainSchema.optional(),
    listen_port: port("the WireGuard UDP port of this domain, e.g. 40011"),
    private_key_file: absPath("file with this gateway's WireGuard private key for the domain (`wg genkey`)"),
    domain_seed: domainSeedSchema.optional(),
    vni: vniSchema.optional(),
    variant: addressVariantSchema.default("wgkex"),
    mtu: z.number().int().min(1280, { message: "must be at least 1280 (IPv6 minimum)" }).max(9000).default(1420),
    interface_suffix: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,11}$/, { message: "must be 1-11 characters of A-Z, a-z, 0-9, '_' or '-'" })
      .optional(),
    batman: batmanSchema,
    static_peers: z.array(staticPeerSchema).default([]),
  })
  .superRefine((d, ctx) => {
    if (d.mode === "parker") {
      if (d.parker === undefined) {
        ctx.addIssue({ code: "custom", path: ["parker"], message: "is required with mode: parker (pools, address4)" });
      }
      return;
    }
    if (d.parker !== undefined) {
      ctx.addIssue({ code: "custom", path: ["parker"], message: "only with mode: parker" });
    }
    if (d.domain_seed === undefined && d.vni === undefined) {
      ctx.addIssue({
        code: "custom",
        message: "needs domain_seed (64 hex characters from site.conf) or vni (the VXLAN id); set one of them",
        path: ["domain_seed"],
      });
    }
    if (d.domain_seed !== undefined && d.vni !== undefined) {
      ctx.addIssue({ code: "custom", message: "set either domain_seed or vni, not both", path: ["vni"] });
    }
  });

export const configSchema = z
  .strictObject({
    gateway: str("the name this gateway has in the edge's configuration, e.g. gw01").pipe(gatewayNameSchema),
    edge: z.strictObject(
      {
        url: str("the edge's base URL, e.g. https://broker.example.net").refine(
          (u) => /^(https?|wss?):\/\/[^/]/.test(u),
          {
            message: "must start with https:// (or http://, wss://, ws://) followed by the host",
          },
        ),
        token_file: absPath("file holding this gateway's bearer token for the edge"),
        ping_interval_s: seconds(30),
        backoff_min_ms: z.number().int().min(1).default(1000),
        backoff_max_ms: z.number().int().min(1).default(60_000),
      },
      { error: (iss) => missing("edge: { url, token_file }")(iss) ?? "must be a mapping" },
    ),
    /** What v2 answers send nodes to: a DNS name (shared/src/external-address.ts says why). */
    external_address: str("this gateway's public DNS name, what v2 answers send nodes to (wgkex's externalName)").pipe(
      externalAddressSchema,
    ),
    domain_prefixes: z
      .array(z.string().min(1), { error: (iss) => missing("a list such as [ffmuc_]")(iss) ?? "must be a list" })
      .min(1, { message: "must list at least one prefix, e.g. [ffmuc_]" }),
    state_dir: absPath("where the agent keeps its state").default("/var/lib/wgkex-agent"),
    log_level: z.enum(["debug", "info", "warn", "error"]).default("info"),
    /** Run every host command inside this network namespace (`ip netns exec`); the edge socket stays here. */
    netns: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, { message: "must be a network namespace name (ip netns list), e.g. gw1" })
      .optional(),
    metrics: z
      .strictObject({
        listen: z
          .string()
          .regex(/^(\[[0-9A-Fa-f:]+\]|[0-9.]+|[A-Za-z0-9.-]+):\d{1,5}$/, {
            message: 'must be "address:port", e.g. "127.0.0.1:9761"',
          })
          .nullable()
          .default("127.0.0.1:9761"),
      })
      .prefault({}),
    wireguard: z
      .discriminatedUnion(
        "implementation",
        [
          z.strictObject({ implementation: z.literal("kernel") }),
          z.strictObject({
            implementation: z.literal("userspace"),
            command: z.array(z.string().min(1)).min(1).default(["wireguard-go", "-f"]),
          }),
        ],
        { error: 'implementation must be "kernel" or "userspace"' },
      )
      .prefault({ implementation: "kernel" }),
    cleanup: z
      .strictObject({
        interval_s: seconds(300),
        stale_after_s: seconds(10_800),
        grace_s: seconds(600),
      })
      .prefault({}),
    reports: z
      .strictObject({
        load_interval_s: seconds(60),
        live_interval_s: seconds(300),
        reconcile_interval_s: seconds(300),
        connected_window_s: seconds(180),
        /** Reconcile right after a domain's interfaces change (`ip -o monitor link`). */
        link_events: z.boolean({ error: "must be true or false" }).default(true),
        /** …once the burst of events has been quiet this long. */
        link_debounce_ms: z
          .number({ error: "must be a number of milliseconds" })
          .int({ message: "must be a whole number of milliseconds" })
          .min(0)
          .max(60_000, { message: "must be at most 60000 (one minute)" })
          .default(1000),
      })
      .prefault({}),
    domains: z
      .record(domainNameSchema, domainSchema, {
        error: (iss) => missing("a mapping of domain name to its settings")(iss) ?? "must be a mapping",
      })
      .refine((d) => Object.keys(d).length > 0, { message: "must configure at least one domain" }),
  })
  .superRefine((c, ctx) => {
    for (const [name, d] of Object.entries(c.domains)) {
      if (matchingPrefix(name, c.domain_prefixes) === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["domains", name],
          message: `domain starts with none of domain_prefixes ${JSON.stringify(c.domain_prefixes)}; add its prefix there`,
        });
        continue;
      }
      const suffix = d.interface_suffix ?? name.slice(matchingPrefix(name, c.domain_prefixes)!.length);
      try {
        interfacesForSuffix(suffix);
      } catch (e) {
        ctx.addIssue({ code: "custom", path: ["domains", name, "interface_suffix"], message: (e as Error).message });
      }
    }
    const ports = new Map<number, string>();
    for (const [name, d] of Object.entries(c.domains)) {
      const other = ports.get(d.listen_port);
      if (other)
        ctx.addIssue({
          code: "custom",
          path: ["domains", name, "listen_port"],
          message: `port ${d.listen_port} is already used by domain ${other}; every domain needs its own port`,
        });
      ports.set(d.listen_port, name);
    }
  });

export type RawConfig = z.infer<typeof configSchema>;
export type RawDomainConfig = z.infer<typeof domainSchema>;
export type StaticPeer = z.infer<typeof staticPeerSchema>;
export type BatmanConfig = z.infer<typeof batmanSchema>;

/** A domain with everything derived: interface names and VNI. */
export interface DomainConfig extends RawDomainConfig {
  readonly name: string;
  readonly interfaces: DomainInterfaces;
  readonly vniResolved: number;
}

export interface AgentConfig extends Omit<RawConfig, "domains"> {
  readonly domains: readonly DomainConfig[];
}

export function resolveConfig(raw: RawConfig): AgentConfig {
  const domains = Object.entries(raw.domains).map(([name, d]): DomainConfig => {
    const suffix = d.interface_suffix ?? name.slice(matchingPrefix(name, raw.domain_prefixes)!.length);
    return {
      ...d,
      name,
      interfaces: interfacesForSuffix(suffix),
      // Parker domains have no VXLAN.
      vniResolved: d.mode === "parker" ? 0 : (d.vni ?? vniFromDomainSeed(d.domain_seed!, d.variant)),
    };
  });
  return { ...raw, domains };
}
