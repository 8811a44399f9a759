import { isAllowedDomain, isPublicKey } from "@wgkex-edge/shared";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { clientKey } from "../http/client-address.ts";
import { type EdgeEnv, withConfig } from "../http/edge-env.ts";
import { retryAfter } from "../http/retry-after.ts";
import { registryFor } from "../registry/stub.ts";

export const RECEIPTS_LIMITED = "too many receipt requests from your address; try again in a minute";

/**
 * Receipts, which wgkex never had: when a key was registered and which gateways installed
 * it. Public keys and gateway names are public; nothing about the client is stored.
 *
 * Each receipt costs the domain's object a few point reads, so like the node API it is
 * limited per client address (`NODE_LIMITER`, under its own key: reading receipts never
 * uses up a router's registrations), and only what reaches the object counts.
 */
export const receipts = new Hono<EdgeEnv>();

receipts.get("/api/v1/wg/key/status", withConfig, async (c) => {
  const { config } = c.var;
  const domain = c.req.query("domain");
  const publicKey = c.req.query("public_key");
  if (!isAllowedDomain(domain, config)) {
    throw new HTTPException(400, {
      message: "domain: unknown domain; use the domain the node registered for, e.g. ffmuc_welt",
    });
  }
  if (!isPublicKey(publicKey)) {
    throw new HTTPException(400, {
      message: "public_key: must be a WireGuard public key, 44 characters of base64 (URL-encode '+' as %2B)",
    });
  }
  if (config.limits.enabled && c.env.NODE_LIMITER) {
    const key = `receipt:${clientKey(c.req.header("CF-Connecting-IP"))}`;
    const { success } = await c.env.NODE_LIMITER.limit({ key });
    if (!success) return c.json({ error: { message: RECEIPTS_LIMITED } }, 429, { "Retry-After": retryAfter(60) });
  }
  const receipt = await registryFor(c.env, domain).receipt(publicKey);
  if (receipt === undefined) throw new HTTPException(404, { message: "this key is not registered for this domain" });
  return c.json(receipt);
});
