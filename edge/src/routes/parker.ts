import { parseParkerQuery, SigningKeyError } from "@wgkex-edge/shared/parker";
import { Hono } from "hono";
import { clientKey } from "../http/client-address.ts";
import { type EdgeEnv, withConfig } from "../http/edge-env.ts";
import { ALLOW_GET, flaskOptions, methodNotAllowed, PARKER_DISABLED, wgkexError } from "../http/wgkex-json.ts";
import { PARKER_INVALID, PARKER_SIGNATURE_ERROR, parkerResponse } from "../parker/http.ts";
import { retrySeconds } from "../parker/ipam.ts";
import { parkerSigner } from "../parker/signing.ts";
import { registryFor } from "../registry/stub.ts";
import { noteRejection } from "../stats/rejections.ts";

/**
 * Parker (API v3): `GET /config` and `GET /api/v3/config`, both answered alike. Plain HTTP
 * is served as it comes (nothing here redirects); see docs/parker.md. Other methods are
 * answered as Flask answers a GET route. (`/api/v3/wg/key/exchange`, which wgkex's parker
 * branch also routes here, stays wgkex main's answer: no client uses it.)
 */
export const PARKER_PATHS: ReadonlySet<string> = new Set(["/config", "/api/v3/config"]);

export const parkerApi = new Hono<EdgeEnv>();

for (const path of PARKER_PATHS) {
  parkerApi.get(path, withConfig, async (c) => {
    const { parker, limits } = c.var.config;
    if (parker === undefined) return wgkexError(PARKER_DISABLED, 400);
    const parsed = parseParkerQuery(new URL(c.req.url).searchParams);
    if (!parsed.ok) {
      noteRejection(c.env, c.executionCtx, "invalid");
      return wgkexError(PARKER_INVALID, 400);
    }
    let signer: Awaited<ReturnType<typeof parkerSigner>>;
    try {
      signer = await parkerSigner(c.env.PARKER_SIGNING_KEY, parker);
    } catch (error) {
      if (!(error instanceof SigningKeyError)) throw error;
      // Logged once per isolate by parkerSigner; a router retries in 20 s and changes nothing.
      return wgkexError(PARKER_SIGNATURE_ERROR, 500);
    }
    const { request } = parsed;
    const now = Date.now();
    const address = c.req.header("CF-Connecting-IP") ?? null;
    if (limits.enabled && c.env.NODE_LIMITER) {
      const { success } = await c.env.NODE_LIMITER.limit({ key: clientKey(address) });
      if (!success) {
        // The clients' own "later": signed, without id, at the normal interval.
        noteRejection(c.env, c.executionCtx, "rate_limited");
        const retry = retrySeconds(parker.retry_s, Math.max(parker.retry_jitter_percent, 50));
        return parkerResponse(
          { kind: "retry", reason: "rate-limit", nonce: request.nonce, time: Math.floor(now / 1000), retry },
          parker.answer_format,
          signer,
        );
      }
    }
    const decision = await registryFor(c.env, parker.domain).parkerConfig({
      request,
      source: clientKey(address),
      clientAddress: address,
      now,
    });
    return parkerResponse(decision, parker.answer_format, signer);
  });
  parkerApi.options(path, () => flaskOptions(ALLOW_GET));
  parkerApi.all(path, () => methodNotAllowed(ALLOW_GET));
}
