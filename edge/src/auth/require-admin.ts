import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import type { Env } from "../env.ts";
import { bearerToken, tokenMatches } from "./token.ts";

/**
 * Operators only: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. `what`
 * names the API in the answer ("admin API", "metrics"). With no ADMIN_TOKEN configured
 * nothing is accepted, and the answer says how to configure one.
 */
export function requireAdmin(what: string) {
  return createMiddleware<{ Bindings: Pick<Env, "ADMIN_TOKEN"> }>(async (c, next) => {
    const expected = c.env.ADMIN_TOKEN;
    if (!expected) {
      throw new HTTPException(503, {
        message:
          `${what}: no ADMIN_TOKEN is configured on this edge. Locally, put ADMIN_TOKEN=<token> in .dev.vars ` +
          "(see .dev.vars.example); in production, run: npx wrangler secret put ADMIN_TOKEN --env production",
      });
    }
    if (!(await tokenMatches(bearerToken(c.req.header("Authorization")), expected))) {
      throw new HTTPException(401, { message: `${what}: send Authorization: Bearer <ADMIN_TOKEN>` });
    }
    await next();
  });
}
