import { zValidator } from "@hono/zod-validator";
import { describeIssues } from "@wgkex-edge/shared";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import type { z } from "zod";

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * Operators' bodies must be JSON, whatever their Content-Type says: `curl -d` sends
 * application/x-www-form-urlencoded, fetch with a string body text/plain, and zValidator's
 * "json" target reads only bodies labelled JSON. So the body is checked here and labelled
 * JSON for `validJson`, which comes next. (The node API never comes here: it reads Gluon's
 * raw body itself, see http/body.ts.)
 */
export const jsonWhateverContentType = createMiddleware(async (c, next) => {
  const text = await c.req.text();
  try {
    JSON.parse(text);
  } catch {
    throw new HTTPException(400, { message: "body: must be JSON" });
  }
  const type = c.req.header("Content-Type")?.split(";")[0]?.trim() ?? "";
  if (!JSON_TYPE.test(type)) {
    const headers = new Headers(c.req.raw.headers);
    headers.set("Content-Type", "application/json");
    c.req.raw = new Request(c.req.raw.url, { method: c.req.method, headers, body: text });
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
