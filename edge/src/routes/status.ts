import { type Context, Hono } from "hono";
import { requireAdmin } from "../auth/require-admin.ts";
import { type EdgeEnv, withConfig } from "../http/edge-env.ts";
import { collectStatus } from "../stats/collect.ts";
import { renderStatusPage } from "../stats/page.ts";
import { renderMetrics } from "../stats/prometheus.ts";
import { StatusCache } from "../stats/status-cache.ts";

/**
 * Public: the status page and its JSON (domains, gateway health, counts: what Freifunk maps
 * publish anyway), from a cache of `status_cache_s` per isolate. Token-protected: /metrics,
 * which a Prometheus scrapes with ADMIN_TOKEN, always fresh.
 */
export const status = new Hono<EdgeEnv>();

const publicStatus = new StatusCache();

const cachedStatus = (c: Context<EdgeEnv>) =>
  publicStatus.get(c.var.config.status_cache_s * 1000, Date.now(), () => collectStatus(c.env, c.var.config));

status.get("/status", withConfig, async (c) => {
  c.header("Cache-Control", "no-store");
  return c.html(renderStatusPage(await cachedStatus(c)));
});

status.get("/api/v1/status", withConfig, async (c) => {
  c.header("Cache-Control", "no-store");
  return c.json(await cachedStatus(c));
});

status.get("/metrics", requireAdmin("metrics"), withConfig, async (c) => {
  return c.body(renderMetrics(await collectStatus(c.env, c.var.config)), 200, {
    "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
  });
});
