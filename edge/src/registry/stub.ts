import type { Env } from "../env.ts";

/** The domain's object: one per domain, addressed by its name (the object reads it back as `ctx.id.name`). */
export const registryFor = (env: Env, domain: string) => env.DOMAIN_REGISTRY.getByName(domain);
