import { Hono } from "hono";
import { bearerToken, tokenMatches } from "../auth/token.ts";
import type { Env } from "../env.ts";
import { collectStatus } from "../stats/collect.ts";
import { renderStatusPage } from "../stats/page.ts";
import { renderMetrics } from "../stats/prometheus.ts";

/**
 * Public: the status page and its JSON (domains, gateway health, counts: what Freifunk maps
 * publish anyway). Token-protected: /metrics, which a Prometheus scrapes with ADMIN_TOKEN.
 */
export const status = new Hono<{ Bindings: Env }>();

status.get("/status", async (c) => {
  c.header("Cache-Control", "no-store");
  return c.html(renderStatusPage(await collectStatus(c.env)));
});

status.get("/api/v1/status", async (c) => {
  c.header("Cache-Control", "no-store");
  return c.json(await collectStatus(c.env));
});

status.get("/metrics", async (c) => {
  if (!(await tokenMatches(bearerToken(c.req.header("Authorization")), c.env.ADMIN_TOKEN))) {
    return c.text("metrics: send Authorization: Bearer <ADMIN_TOKEN>\n", 401);
  }
  return c.body(renderMetrics(await collectStatus(c.env)), 200, {
    "Content-Type": "text/plain; version=0.0.4; charset=utf-8",
  });
});
