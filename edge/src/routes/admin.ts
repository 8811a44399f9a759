import { isPublicKey } from "@wgkex-edge/shared";
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import { requireAdmin } from "../auth/require-admin.ts";
import { type EdgeEnv, withConfig } from "../http/edge-env.ts";
import { jsonWhateverContentType, validJson } from "../http/json-body.ts";
import { registryFor } from "../registry/stub.ts";

/** Operators' API: deny list and gateway drain, behind ADMIN_TOKEN. */
export const admin = new Hono<EdgeEnv>();

admin.use("/api/v1/admin/*", requireAdmin("admin API"), withConfig);

const denySchema = z.strictObject({
  reason: z.string().min(1).max(200),
  /** Seconds until the entry expires; absent = until removed. */
  ttl_s: z.number().int().positive().optional(),
  /** Domains to deny the key in; absent = all. */
  domains: z.array(z.string()).optional(),
});

const drainSchema = z.strictObject({
  drain: z.boolean({ error: 'expected true or false, e.g. {"drain": true}' }),
});

// Checked before the body, so a bad key is what the answer names first.
const keyParam = createMiddleware<EdgeEnv>(async (c, next) => {
  if (!isPublicKey(c.req.param("key"))) {
    throw new HTTPException(400, {
      message: "public key: must be 44 characters of canonical base64 (URL-encode / as %2F, + as %2B)",
    });
  }
  await next();
});

const configuredGateway = createMiddleware<EdgeEnv>(async (c, next) => {
  const gateway = c.req.param("gateway");
  if (!c.var.config.gateways.some((g) => g.name === gateway))
    throw new HTTPException(404, { message: `gateway ${gateway} is not configured` });
  await next();
});

admin.put("/api/v1/admin/denylist/:key", keyParam, jsonWhateverContentType, validJson(denySchema), async (c) => {
  const key = c.req.param("key");
  const body = c.req.valid("json");
  const { config } = c.var;
  const domains = body.domains ?? config.domains;
  const unknown = domains.filter((d) => !config.domains.includes(d));
  if (unknown.length > 0) throw new HTTPException(400, { message: `domains: unknown ${unknown.join(", ")}` });
  const expiresAt = body.ttl_s ? Date.now() + body.ttl_s * 1000 : null;
  await Promise.all(domains.map((d) => registryFor(c.env, d).deny(key, body.reason, expiresAt)));
  return c.json({
    public_key: key,
    reason: body.reason,
    expires_at: expiresAt && new Date(expiresAt).toISOString(),
    domains,
  });
});

admin.delete("/api/v1/admin/denylist/:key", keyParam, async (c) => {
  const key = c.req.param("key");
  const { config } = c.var;
  const removed = await Promise.all(config.domains.map((d) => registryFor(c.env, d).undeny(key)));
  return c.json({ public_key: key, removed_from: config.domains.filter((_, i) => removed[i]) });
});

admin.get("/api/v1/admin/denylist", async (c) => {
  const { config } = c.var;
  const lists = await Promise.all(config.domains.map((d) => registryFor(c.env, d).denylist()));
  return c.json({
    entries: config.domains.flatMap((domain, i) =>
      lists[i]!.map((e) => ({
        domain,
        public_key: e.public_key,
        reason: e.reason,
        created_at: new Date(e.created_at).toISOString(),
        expires_at: e.expires_at === null ? null : new Date(e.expires_at).toISOString(),
      })),
    ),
  });
});

const ADOPTED_PAGE = 1000;

/**
 * Keys the edge adopted from gateways' reports (migration from wgkex), still desired: per
 * domain, optionally of one gateway, 1,000 per page; `next` continues after the last key.
 */
admin.get("/api/v1/admin/adopted", async (c) => {
  const { config } = c.var;
  const domain = c.req.query("domain");
  const gateway = c.req.query("gateway");
  const after = c.req.query("after") ?? "";
  if (domain === undefined || !config.domains.includes(domain)) {
    throw new HTTPException(400, {
      message: `domain: one of ${config.domains.join(", ")}, e.g. ?domain=${config.domains[0]}`,
    });
  }
  if (gateway !== undefined && !config.gateways.some((g) => g.name === gateway)) {
    throw new HTTPException(404, { message: `gateway ${gateway} is not configured` });
  }
  const entries = await registryFor(c.env, domain).adopted(gateway, after, ADOPTED_PAGE);
  return c.json({ domain, entries, next: entries.length === ADOPTED_PAGE ? entries.at(-1)!.public_key : null });
});

admin.put(
  "/api/v1/admin/gateways/:gateway/drain",
  configuredGateway,
  jsonWhateverContentType,
  validJson(drainSchema),
  async (c) => {
    const gateway = c.req.param("gateway");
    const { drain } = c.req.valid("json");
    await Promise.all(c.var.config.domains.map((d) => registryFor(c.env, d).setDrain(gateway, drain)));
    return c.json({ gateway, drain });
  },
);
