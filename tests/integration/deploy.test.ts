import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT, wranglerDefaults } from "../../edge/local/serve.ts";
import { parseEdgeConfig } from "../../edge/src/config/schema.ts";
import { tempDir } from "../support/edge.ts";

function dryRun(env?: string): { status: number | null; out: string; dir: string } {
  const dir = tempDir(`deploy-${env ?? "default"}`);
  const args = [path.join(REPO_ROOT, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", dir];
  if (env) args.push("--env", env);
  const result = spawnSync(process.execPath, args, {
    cwd: REPO_ROOT,
    encoding: "utf8",
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
  });
  return { status: result.status, out: result.stdout + result.stderr, dir };
}

describe("deployment", () => {
  it.each([undefined, "production"])("builds the Worker bundle with wrangler deploy --dry-run (env %s)", (env) => {
    const { status, out, dir } = dryRun(env);
    expect(status, out).toBe(0);
    expect(out).toContain("env.DOMAIN_REGISTRY (DomainRegistry)");
    expect(out).toContain("env.NODE_LIMITER");
    expect(existsSync(path.join(dir, "index.js"))).toBe(true);
    expect(statSync(path.join(dir, "index.js")).size).toBeGreaterThan(10_000);
  });

  it.each([undefined, "production"])("ships a WGKEX_CONFIG that validates (env %s)", async (env) => {
    const defaults = await wranglerDefaults(path.join(REPO_ROOT, "wrangler.toml"), env);
    const config = parseEdgeConfig(defaults.config);
    expect(config.domains.length).toBeGreaterThan(0);
    expect(config.gateways.length).toBeGreaterThan(0);
  });
});
