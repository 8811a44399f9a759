import { type EdgeConfig, parseEdgeConfig } from "./schema.ts";

/** The one binding the configuration comes from; the Worker and every object have it. */
export interface ConfigBinding {
  /** The edge configuration: domains, prefixes, gateways, limits, retention. */
  WGKEX_CONFIG: unknown;
}

// Parsed once per isolate per distinct raw value: vars do not change without a deploy, and
// a deploy starts new isolates.
let cached: { raw: unknown; config: EdgeConfig } | undefined;

export function loadConfig(env: ConfigBinding): EdgeConfig {
  if (cached === undefined || cached.raw !== env.WGKEX_CONFIG) {
    cached = { raw: env.WGKEX_CONFIG, config: parseEdgeConfig(env.WGKEX_CONFIG) };
  }
  return cached.config;
}
