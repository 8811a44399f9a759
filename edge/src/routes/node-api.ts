import { isAllowedDomain, normalizeNodeKey } from "@wgkex-edge/shared";
import { Hono } from "hono";
import { BodyTooLargeError, readBodyText } from "../http/body.ts";
import { clientKey } from "../http/client-address.ts";
import { type EdgeEnv, withConfig } from "../http/edge-env.ts";
import { retryAfter } from "../http/retry-after.ts";
import {
  ALLOW_GET,
  ALLOW_POST,
  flaskOptions,
  INTERNAL_ERROR,
  methodNotAllowed,
  NO_GATEWAY,
  NO_GATEWAY_DATA,
  PARKER_DISABLED,
  wgkexError,
  wgkexIndex,
  wgkexJson,
} from "../http/wgkex-json.ts";
import { registryFor } from "../registry/stub.ts";
import { noteRejection } from "../stats/rejections.ts";

export const BODY_TOO_LARGE = "request body too large";
export const RATE_LIMITED = "too many requests, please try again later";

type Parsed = { domain: string; publicKey: string; location: string | undefined };

/** The wgkex request body, parsed as JSON whatever the Content-Type; undefined = 400. */
export function parseExchange(
  text: string,
  rules: { domains: string[]; domain_prefixes: string[] },
): Parsed | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) return undefined;
  const { domain, public_key, location } = body as Record<string, unknown>;
  const publicKey = normalizeNodeKey(public_key);
  if (publicKey === undefined || !isAllowedDomain(domain, rules)) return undefined;
  return { domain, publicKey, location: typeof location === "string" && location.length <= 64 ? location : undefined };
}

/** The paths wgkex serves: their unexpected errors get wgkex's answer too (Werkzeug's 500 page). */
export const NODE_API_PATHS: ReadonlySet<string> = new Set([
  "/",
  "/api/v1/wg/key/exchange",
  "/api/v2/wg/key/exchange",
  "/api/v3/wg/key/exchange",
]);

export const nodeApi = new Hono<EdgeEnv>();

// wgkex's own page, and Parker's v3 as a wgkex broker without Parker answers it. HEAD is
// served by hono from the GET handler, without the body, as Flask does.
nodeApi.get("/", () => wgkexIndex());
nodeApi.get("/api/v3/wg/key/exchange", () => wgkexError(PARKER_DISABLED, 400));
for (const path of ["/", "/api/v3/wg/key/exchange"]) {
  nodeApi.options(path, () => flaskOptions(ALLOW_GET));
  nodeApi.all(path, () => methodNotAllowed(ALLOW_GET));
}

for (const version of [1, 2] as const) {
  const path = `/api/v${version}/wg/key/exchange`;
  nodeApi.post(path, withConfig, async (c) => {
    const { config } = c.var;
    const source = clientKey(c.req.header("CF-Connecting-IP"));
    // Garbage counts against the sender's limit too: limit first, then read.
    if (config.limits.enabled && c.env.NODE_LIMITER) {
      const { success } = await c.env.NODE_LIMITER.limit({ key: source });
      if (!success) {
        noteRejection(c.env, c.executionCtx, "rate_limited");
        return wgkexError(RATE_LIMITED, 429, { "Retry-After": retryAfter(60) });
      }
    }
    let text: string;
    try {
      text = await readBodyText(c.req.raw, config.limits.max_body_bytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        noteRejection(c.env, c.executionCtx, "too_large");
        return wgkexError(BODY_TOO_LARGE, 413);
      }
      throw error;
    }
    const parsed = parseExchange(text, config);
    // The Parker domain's nodes fetch a configuration (GET /config); they never register here.
    if (parsed === undefined || parsed.domain === config.parker?.domain) {
      noteRejection(c.env, c.executionCtx, "invalid");
      return wgkexError(INTERNAL_ERROR, 400);
    }

    const { domain, ...registration } = parsed;
    const result = await registryFor(c.env, domain).register({ ...registration, version, source });
    switch (result.status) {
      case "ok":
        return result.endpoint ? wgkexJson({ Endpoint: result.endpoint }) : wgkexJson({ Message: "OK" });
      case "denied":
        return wgkexError(INTERNAL_ERROR, 400);
      case "throttled":
        return wgkexError(RATE_LIMITED, 429, { "Retry-After": retryAfter(result.retryAfterS) });
      case "no-gateway":
        return wgkexError(NO_GATEWAY, 400);
      case "no-gateway-data":
        return wgkexError(NO_GATEWAY_DATA, 500);
    }
  });
  nodeApi.options(path, () => flaskOptions(ALLOW_POST));
  nodeApi.all(path, () => methodNotAllowed(ALLOW_POST));
}
