import { createMiddleware } from "hono/factory";
import { loadConfig } from "../config/load.ts";
import type { EdgeConfig } from "../config/schema.ts";
import type { Env } from "../env.ts";

/**
 * The hono environment of every router: the Worker's bindings, and the configuration as a
 * request variable (`c.var.config`) once `withConfig` ran.
 */
export type EdgeEnv = { Bindings: Env; Variables: { config: EdgeConfig } };

/**
 * Loads the configuration once for the request (parsed once per isolate). Put it on each
 * route that reads `c.var.config`, after any authentication. A broken WGKEX_CONFIG throws
 * a ConfigError naming the field: the app's onError logs it, routers see wgkex's 500.
 */
export const withConfig = createMiddleware<EdgeEnv>(async (c, next) => {
  c.set("config", loadConfig(c.env));
  await next();
});
