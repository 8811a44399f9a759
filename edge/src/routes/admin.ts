import { isPublicKey } from "@wgkex-edge/shared";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import { bearerToken, tokenMatches } from "../auth/token.ts";
import { loadConfig } from "../config/load.ts";
import type { Env } from "../env.ts";
import { registryFor } from "../registry/stub.ts";

/** Operators' API: deny list and gateway drain, behind ADMIN_TOKEN. */
export const admin = new Hono<{ Bindings: Env }>();

admin.use("/api/v1/admin/*", async (c, next) => {
  const ok = await tokenMatches(bearerToken(c.req.header("Authorization")), c.env.ADMIN_TOKEN);
  if (!ok) throw new HTTPException(401, { message: "admin API: send Authorization: Bearer <ADMIN_TOKEN>" });
  await next();
});

const denySchema = z.strictObject({
  reason: z.string().min(1).max(200),
  /** Seconds until the entry expires; absent = until removed. */
  ttl_s: z.number().int().positive().optional(),
  /** Domains to deny the key in; absent = all. */
  domains: z.array(z.string()).optional(),
});

function checkedKey(key: string): string {
  if (!isPublicKey(key)) {
    throw new HTTPException(400, {
      message: "public key: must be 44 characters of canonical base64 (URL-encode / as %2F, + as %2B)",
    });
  }
  return key;
}

async function jsonBody(request: Request): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    throw new HTTPException(400, { message: "body: must be JSON" });
  }
}

admin.put("/api/v1/admin/denylist/:key", async (c) => {
  const key = checkedKey(c.req.param("key"));
  const parsed = denySchema.safeParse(await jsonBody(c.req.raw));
  if (!parsed.success)
    throw new HTTPException(400, {
      message: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
    });
  const config = loadConfig(c.env);
  const domains = parsed.data.domains ?? config.domains;
  const unknown = domains.filter((d) => !config.domains.includes(d));
  if (unknown.length > 0) throw new HTTPException(400, { message: `domains: unknown ${unknown.join(", ")}` });
  const expiresAt = parsed.data.ttl_s ? Date.now() + parsed.data.ttl_s * 1000 : null;
  await Promise.all(domains.map((d) => registryFor(c.env, d).deny(d, key, parsed.data.reason, expiresAt)));
  return c.json({
    public_key: key,
    reason: parsed.data.reason,
    expires_at: expiresAt && new Date(expiresAt).toISOString(),
    domains,
  });
});

admin.delete("/api/v1/admin/denylist/:key", async (c) => {
  const key = checkedKey(c.req.param("key"));
  const config = loadConfig(c.env);
  const removed = await Promise.all(config.domains.map((d) => registryFor(c.env, d).undeny(key)));
  return c.json({ public_key: key, removed_from: config.domains.filter((_, i) => removed[i]) });
});

admin.get("/api/v1/admin/denylist", async (c) => {
  const config = loadConfig(c.env);
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

admin.put("/api/v1/admin/gateways/:gateway/drain", async (c) => {
  const gateway = c.req.param("gateway");
  const config = loadConfig(c.env);
  if (!config.gateways.some((g) => g.name === gateway))
    throw new HTTPException(404, { message: `gateway ${gateway} is not configured` });
  const parsed = z.strictObject({ drain: z.boolean() }).safeParse(await jsonBody(c.req.raw));
  if (!parsed.success) throw new HTTPException(400, { message: 'body: expected {"drain": true|false}' });
  await Promise.all(config.domains.map((d) => registryFor(c.env, d).setDrain(gateway, parsed.data.drain)));
  return c.json({ gateway, drain: parsed.data.drain });
});
