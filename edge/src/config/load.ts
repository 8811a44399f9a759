import type { Env } from "../env.ts";
import { type EdgeConfig, parseEdgeConfig } from "./schema.ts";

// Parsed once per isolate per distinct raw value: vars do not change without a deploy, and
// a deploy starts new isolates.
let cached: { raw: unknown; config: EdgeConfig } | undefined;

export function loadConfig(env: Pick<Env, "WGKEX_CONFIG">): EdgeConfig {
  if (cached === undefined || cached.raw !== env.WGKEX_CONFIG) {
    cached = { raw: env.WGKEX_CONFIG, config: parseEdgeConfig(env.WGKEX_CONFIG) };
  }
  return cached.config;
}
