import { Hono } from "hono";
import { requireAdmin } from "../auth/require-admin.ts";
import { type EdgeEnv, withConfig } from "../http/edge-env.ts";
import { collectStatus } from "../stats/collect.ts";
import { renderStatusPage } from "../stats/page.ts";
import { renderMetrics } from "../stats/prometheus.ts";

/**
 * Public: the status page and its JSON (domains, gateway health, counts: what Freifunk maps
 * publish anyway). Token-protected: /metrics, which a Prometheus scrapes with ADMIN_TOKEN.
 */
export const status = new Hono<EdgeEnv>();

status.get("/status", withConfig, async (c) => {
  c.header("Cache-Control", "no-store");
  return c.html(renderStatusPage(await collectStatus(c.env, c.var.config)));
});

status.get("/api/v1/status", withConfig, async (c) => {
  c.header("Cache-Control", "no-store");
  return c.json(await collectStatus(c.env, c.var.config));
});

status.get("/metrics", requireAdmin("metrics"), withConfig, async (c) => {
  return c.body(renderMetrics(await collectStatus(c.env, c.var.config)), 200, {
    "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
  });
});
