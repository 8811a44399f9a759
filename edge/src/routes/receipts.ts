import { isAllowedDomain, isPublicKey } from "@wgkex-edge/shared";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { type EdgeEnv, withConfig } from "../http/edge-env.ts";
import { registryFor } from "../registry/stub.ts";

/**
 * Receipts, which wgkex never had: when a key was registered and which gateways installed
 * it. Public keys and gateway names are public; nothing about the client is stored.
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
  const receipt = await registryFor(c.env, domain).receipt(publicKey);
  if (receipt === undefined) throw new HTTPException(404, { message: "this key is not registered for this domain" });
  return c.json(receipt);
});
