import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../src/env.ts";
import worker from "../src/index.ts";
import { answer } from "./fixtures/wgkex/answers.ts";
import { ADMIN_TOKEN, freshIp, freshKey, gluonBody } from "./helpers.ts";

// What wgkex (Werkzeug) answers when a view fails unexpectedly: its HTML 500 page.
const INTERNAL_500 = answer("v1 unexpected server error (MQTT publish raises)").response.body;

/** The Worker's own fetch, with bindings changed the way a deployment could have them. */
async function fetchWith(bindings: Partial<Env>, path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://edge.test${path}`, init), { ...env, ...bindings }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

afterEach(() => {
  vi.restoreAllMocks();
});

describe("requireAdmin (admin API and /metrics)", () => {
  it.each(["/metrics", "/api/v1/admin/denylist"])(
    "says how to configure ADMIN_TOKEN when none is (%s)",
    async (path) => {
      for (const token of [undefined, ""]) {
        const res = await fetchWith({ ADMIN_TOKEN: token }, path, bearer("anything"));
        expect(res.status).toBe(503);
        const { error } = await res.json<{ error: { message: string } }>();
        expect(error.message).toMatch(/no ADMIN_TOKEN is configured/);
        expect(error.message).toContain(".dev.vars");
        expect(error.message).toContain("npx wrangler secret put ADMIN_TOKEN");
      }
    },
  );

  it("asks for the token, naming the API, when it is missing or wrong", async () => {
    for (const [path, what] of [
      ["/metrics", "metrics"],
      ["/api/v1/admin/denylist", "admin API"],
    ] as const) {
      for (const init of [{}, bearer("wrong"), bearer(`${ADMIN_TOKEN}x`)]) {
        const res = await fetchWith({}, path, init);
        expect(res.status).toBe(401);
        expect(await res.json()).toEqual({ error: { message: `${what}: send Authorization: Bearer <ADMIN_TOKEN>` } });
      }
    }
    expect((await fetchWith({}, "/metrics", bearer(ADMIN_TOKEN))).status).toBe(200);
  });
});

describe("withConfig (the configuration as a request variable)", () => {
  const broken = { WGKEX_CONFIG: { domains: [], domain_prefixes: ["ffmuc_"] } };

  it("answers routers as wgkex does on a failure (its 500 page) and logs which field of WGKEX_CONFIG is wrong", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await fetchWith(broken, "/api/v1/wg/key/exchange", {
      method: "POST",
      headers: { "CF-Connecting-IP": freshIp() },
      body: gluonBody("ffmuc_welt", freshKey()),
    });
    expect(res.status).toBe(500);
    expect(await res.text()).toBe(INTERNAL_500);
    expect(logged).toHaveBeenCalledWith(
      expect.stringContaining("WGKEX_CONFIG invalid: domains: list at least one domain"),
    );
  });

  it("checks the admin token before it reads the configuration", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect((await fetchWith(broken, "/api/v1/admin/denylist", bearer("wrong"))).status).toBe(401);
    expect((await fetchWith(broken, "/api/v1/admin/denylist", bearer(ADMIN_TOKEN))).status).toBe(500);
  });

  it("is not needed where nothing reads it", async () => {
    const res = await fetchWith(broken, "/");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(answer("GET /").response.body);
  });
});
