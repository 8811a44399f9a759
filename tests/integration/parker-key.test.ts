import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import vectors from "@wgkex-edge/shared/testing/parker-vectors.json" with { type: "json" };
import { afterAll, describe, expect, it } from "vitest";

/**
 * `npm run parker-key`, the operators' offline tool for the Parker signing key, run as they
 * run it: converting wgkex's raw seed, checking a key against a wrangler.toml, and refusing
 * with one line that says what is wrong and never prints the secret.
 */
const SCRIPT = path.resolve(import.meta.dirname, "../../scripts/parker-key.ts");
const dir = mkdtempSync(path.join(tmpdir(), `parker-key-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const { key } = vectors;
const SECRETS = [key.signify_secret_key, key.seed_hex];

function parkerKey(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: "utf8", cwd: dir });
  for (const secret of SECRETS) expect(`${r.stdout}${r.stderr}`).not.toContain(secret);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const file = (name: string, text: string, mode = 0o600): string => {
  const p = path.join(dir, name);
  writeFileSync(p, text, { mode });
  return p;
};

/** A wrangler.toml whose production environment pins the facts' key. */
function wranglerToml(name: string, parker: string): string {
  return file(
    name,
    `name = "parker-key-test"
main = "index.ts"
compatibility_date = "2026-04-01"

[env.production.vars.WGKEX_CONFIG]
domains = ["ffbs_parker"]

[env.production.vars.WGKEX_CONFIG.parker]
${parker}
`,
    0o644,
  );
}

describe("npm run parker-key", () => {
  it("converts wgkex's raw seed into the signify secret key of the pinned public key, mode 0600", () => {
    const seed = file("seed.hex", `${key.seed_hex}\n`);
    const out = path.join(dir, "converted");
    mkdirSync(out);
    const r = parkerKey("convert", "--seed-file", seed, "--public-key", key.signify_public_key, "--dir", out);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`public_key = "${key.signify_public_key}"`);
    const sec = path.join(out, "parker.sec");
    expect(readFileSync(sec, "utf8").split("\n")[1]).toBe(key.signify_secret_key);
    expect(statSync(sec).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(out, "parker.pub"), "utf8").split("\n")[1]).toBe(key.signify_public_key);

    // Never over a key that is there: routers may pin it.
    const again = parkerKey("convert", "--seed-file", seed, "--public-key", key.signify_public_key, "--dir", out);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`parker-key: ${sec} exists; refusing to overwrite a key (choose another --dir)\n`);
  });

  it("refuses to convert a seed for a public key it does not belong to", () => {
    const seed = file("other-seed.hex", `${"11".repeat(32)}\n`);
    const r = parkerKey("convert", "--seed-file", seed, "--public-key", key.signify_public_key, "--dir", dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "parker-key: the seed does not belong to --public-key: routers pinning that key would reject every answer\n",
    );
  });

  it("checks a key against the wrangler.toml it will run with", () => {
    const sec = file("vector.sec", `untrusted comment: test\n${key.signify_secret_key}\n`);
    const toml = wranglerToml(
      "ok.toml",
      `public_key = "${key.signify_public_key}"\nkey_not_after = "2999-01-01T00:00:00Z"`,
    );
    const r = parkerKey("check", "--secret-file", sec, "--config", toml, "--env", "production");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(
      `OK: the key belongs to ${key.signify_public_key}; a test answer verifies as a router verifies it\n`,
    );
    // The raw seed is accepted as the edge accepts it.
    expect(
      parkerKey("check", "--secret-file", file("s.hex", key.seed_hex), "--public-key", key.signify_public_key).code,
    ).toBe(0);
  });

  it("refuses what the edge would refuse: an expired key, another key", () => {
    const sec = file("vector2.sec", `untrusted comment: test\n${key.signify_secret_key}\n`);
    const expired = parkerKey(
      "check",
      "--secret-file",
      sec,
      "--public-key",
      key.signify_public_key,
      "--not-after",
      "2026-01-01T00:00:00Z",
    );
    expect(expired.code).toBe(1);
    expect(expired.stderr).toMatch(/^parker-key: the Parker signing key expired at 2026-01-01T00:00:00.000Z/);

    const other = parkerKey("check", "--secret-file", sec, "--public-key", vectors.ffbs_production_public_key);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/^parker-key: the signify secret key's key number differs from parker.public_key's/);
  });
});
