import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { ConfigError } from "./config/schema.ts";
import type { Env } from "./env.ts";
import type { EdgeEnv } from "./http/edge-env.ts";
import { INTERNAL_ERROR, internalServerError, notFound, wgkexError } from "./http/wgkex-json.ts";
import { logLine } from "./log.ts";
import { admin } from "./routes/admin.ts";
import { gatewaySocket } from "./routes/gateway-socket.ts";
import { NODE_API_PATHS, nodeApi } from "./routes/node-api.ts";
import { PARKER_PATHS, parkerApi } from "./routes/parker.ts";
import { receipts } from "./routes/receipts.ts";
import { status } from "./routes/status.ts";

export { DomainRegistry } from "./registry/domain-registry.ts";
export { EdgeStats } from "./stats/edge-stats.ts";

const app = new Hono<EdgeEnv>();

app.route("/", nodeApi);
app.route("/", parkerApi);
app.route("/", receipts);
app.route("/", gatewaySocket);
app.route("/", admin);
app.route("/", status);

app.notFound(() => notFound());

app.onError((error, c) => {
  if (error instanceof HTTPException) {
    return c.json({ error: { message: error.message } }, error.status);
  }
  // A broken configuration or storage must be loud in the logs; routers only ever see wgkex's 500.
  logLine("error", error instanceof ConfigError ? error.message : String(error), { path: c.req.path });
  const flask = NODE_API_PATHS.has(c.req.path) || PARKER_PATHS.has(c.req.path);
  return flask ? internalServerError() : wgkexError(INTERNAL_ERROR, 500);
});

export default app satisfies ExportedHandler<Env>;
