import type { Env } from "../env.ts";

/** The domain's object: one per domain, addressed by its name. */
export const registryFor = (env: Env, domain: string) => env.DOMAIN_REGISTRY.getByName(domain);
