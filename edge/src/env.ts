import type { ConfigBinding } from "./config/load.ts";
import type { DomainRegistry } from "./registry/domain-registry.ts";
import type { EdgeStats } from "./stats/edge-stats.ts";

/**
 * Bindings of the Worker (wrangler.toml, secrets, .dev.vars). The Durable Objects see only
 * what they need (`ConfigBinding`), so no module they import depends on this file.
 */
export interface Env extends ConfigBinding {
  /** Secret: JSON object mapping gateway name to its bearer token. */
  GATEWAY_TOKENS?: string;
  /** Secret: bearer token of the admin API, /metrics and the full status. */
  ADMIN_TOKEN?: string;
  /** Secret: the Parker signing key (signify/usign secret key, or a raw Ed25519 seed); docs/parker.md. */
  PARKER_SIGNING_KEY?: string;
  DOMAIN_REGISTRY: DurableObjectNamespace<DomainRegistry>;
  /** Counts of rejections the Worker answers itself. */
  EDGE_STATS: DurableObjectNamespace<EdgeStats>;
  /** Per client address (IPv6 /64) limit on the node API. */
  NODE_LIMITER?: RateLimit;
}
