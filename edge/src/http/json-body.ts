import { zValidator } from "@hono/zod-validator";
import { describeIssues } from "@wgkex-edge/shared";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import type { z } from "zod";

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * Operators' JSON bodies are read as JSON whatever their Content-Type says: `curl -d`
 * sends application/x-www-form-urlencoded and fetch with a string body text/plain, and
 * zValidator's "json" target reads only bodies labelled JSON. Use before `validJson`.
 * (The node API never comes here: it reads Gluon's raw body itself, see http/body.ts.)
 */
export const jsonWhateverContentType = createMiddleware(async (c, next) => {
  const type = c.req.header("Content-Type")?.split(";")[0]?.trim() ?? "";
  if (c.req.raw.body !== null && !JSON_TYPE.test(type)) {
    const headers = new Headers(c.req.raw.headers);
    headers.set("Content-Type", "application/json");
    c.req.raw = new Request(c.req.raw, { headers });
  }
  await next();
});

/**
 * The body, validated by `schema` (`c.req.valid("json")`); a bad one is a 400 whose
 * message names each offending field, like every other operator-facing error.
 */
export const validJson = <T extends z.ZodType>(schema: T) =>
  zValidator("json", schema, (result) => {
    if (!result.success) throw new HTTPException(400, { message: describeIssues(result.error) });
  });
