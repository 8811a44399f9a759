import { isAllowedDomain, isPublicKey } from "@wgkex-edge/shared";
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import { requireAdmin } from "../auth/require-admin.ts";
import { type EdgeEnv, withConfig } from "../http/edge-env.ts";
import { jsonWhateverContentType, validJson } from "../http/json-body.ts";
import { registryFor } from "../registry/stub.ts";
import { iso } from "../registry/views/iso.ts";
import { inEveryDomainOrNone } from "./every-domain.ts";

/** Operators' API: deny list, gateway drain and full receipts, behind ADMIN_TOKEN. */
export const admin = new Hono<EdgeEnv>();

admin.use("/api/v1/admin/*", requireAdmin("admin API"), withConfig);

/** Ten years: far enough for any denial with an end; an expiry must stay a date. */
export const MAX_DENY_TTL_S = 10 * 365 * 24 * 3600;

const denySchema = z.strictObject({
  reason: z.string().min(1).max(200),
  /** Seconds until the entry expires; absent = until removed. */
  ttl_s: z
    .number()
    .int()
    .positive()
    .max(MAX_DENY_TTL_S, { message: `at most ${MAX_DENY_TTL_S} (10 years); leave it out to deny until lifted` })
    .optional(),
  /** Domains to deny the key in; absent = all. */
  domains: z.array(z.string()).min(1, { message: "list at least one domain, or leave it out for all" }).optional(),
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

// Every admin write checks all of its input first and computes its answer before it writes:
// nothing that can fail comes after a write, and a write that fails in one domain is undone
// in the others.
admin.put("/api/v1/admin/denylist/:key", keyParam, jsonWhateverContentType, validJson(denySchema), async (c) => {
  const key = c.req.param("key");
  const body = c.req.valid("json");
  const { config } = c.var;
  const domains = [...new Set(body.domains ?? config.domains)];
  const unknown = domains.filter((d) => !config.domains.includes(d));
  if (unknown.length > 0) throw new HTTPException(400, { message: `domains: unknown ${unknown.join(", ")}` });
  const expiresAt = body.ttl_s ? Date.now() + body.ttl_s * 1000 : null;
  const answer = { public_key: key, reason: body.reason, expires_at: iso(expiresAt), domains };
  await inEveryDomainOrNone(
    "deny",
    domains,
    (d) => registryFor(c.env, d).deny(key, body.reason, expiresAt),
    (d, before) => registryFor(c.env, d).restoreDenial(key, before),
  );
  return c.json(answer);
});

admin.delete("/api/v1/admin/denylist/:key", keyParam, async (c) => {
  const key = c.req.param("key");
  const { domains } = c.var.config;
  const lifted = await inEveryDomainOrNone(
    "lifting the denial",
    domains,
    (d) => registryFor(c.env, d).undeny(key),
    (d, before) => registryFor(c.env, d).restoreDenial(key, before),
  );
  return c.json({ public_key: key, removed_from: domains.filter((_, i) => lifted[i] !== null) });
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
        created_at: iso(e.created_at),
        expires_at: iso(e.expires_at),
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
    await inEveryDomainOrNone(
      "drain",
      c.var.config.domains,
      (d) => registryFor(c.env, d).setDrain(gateway, drain),
      (d, before) => registryFor(c.env, d).setDrain(gateway, before),
    );
    return c.json({ gateway, drain });
  },
);

/** The operators' receipt of a key: the public one plus reasons and when it was last seen live. */
admin.get("/api/v1/admin/keys/:key", keyParam, async (c) => {
  const domain = c.req.query("domain");
  if (!isAllowedDomain(domain, c.var.config)) {
    throw new HTTPException(400, { message: "domain: unknown domain; add ?domain=<domain the key registered for>" });
  }
  const receipt = await registryFor(c.env, domain).operatorReceipt(c.req.param("key"));
  if (receipt === undefined) throw new HTTPException(404, { message: "this key is not registered for this domain" });
  return c.json(receipt);
});
