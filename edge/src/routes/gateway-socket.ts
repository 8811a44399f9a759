import { Hono } from "hono";
import { bearerToken, gatewayToken, tokenMatches } from "../auth/token.ts";
import { gatewaysOf } from "../config/schema.ts";
import { type EdgeEnv, withConfig } from "../http/edge-env.ts";
import { GATEWAY_HEADER } from "../registry/domain-registry.ts";
import { registryFor } from "../registry/stub.ts";

/**
 * Gateway agents connect here, one socket per domain. The token is checked in the Worker,
 * in constant time, before the domain's object is touched; any failure is a bare 401.
 */
export const gatewaySocket = new Hono<EdgeEnv>();

gatewaySocket.get("/api/v1/gateways/:gateway/domains/:domain/socket", withConfig, async (c) => {
  const { gateway, domain } = c.req.param();
  const { config } = c.var;
  const known = config.domains.includes(domain) && gatewaysOf(config, domain).some((g) => g.name === gateway);
  const expected = known ? gatewayToken(c.env.GATEWAY_TOKENS, gateway) : undefined;
  // Compare even for unknown gateways so timing does not tell which names exist.
  const ok = await tokenMatches(bearerToken(c.req.header("Authorization")), expected);
  if (!ok || !known) return c.body(null, 401);
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    return c.text("upgrade to a WebSocket to connect a gateway", 426);
  }
  const headers = new Headers(c.req.raw.headers);
  headers.set(GATEWAY_HEADER, gateway);
  headers.delete("Authorization");
  return registryFor(c.env, domain).fetch(new Request(c.req.raw.url, { method: "GET", headers }));
});
