import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../edge/local/serve.ts";
import { tempDir } from "../support/edge.ts";
import { executable, missingPrerequisite } from "../support/require-tool.ts";

// The README's first commands, as a newcomer runs them on a fresh copy of the repository with
// the machine's own Node (Debian's nodejs): `npm ci`, then `npx --no-install wgkex-agent`.
// npm's PATH is the system's, not this test run's (which starts with the repository's Node 22).
const SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
const skip = missingPrerequisite([
  [executable("/usr/bin/node") && executable("/usr/bin/npm"), "the system's node and npm"],
]);

describe.skipIf(skip)("first hour: a fresh copy, npm ci, npx wgkex-agent", () => {
  let dir = "";
  let install = { status: null as number | null, out: "" };

  beforeAll(() => {
    dir = tempDir("first-hour");
    // The files a clone has: tracked and new, not ignored (so no node_modules, no dist).
    const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
    })
      .split("\0")
      .filter(Boolean);
    for (const file of files) {
      const from = path.join(REPO_ROOT, file);
      const mode = statSync(from, { throwIfNoEntry: false })?.mode;
      if (mode === undefined) continue; // deleted in the work tree
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      copyFileSync(from, path.join(dir, file));
      chmodSync(path.join(dir, file), mode & 0o777);
    }
    const r = spawnSync("/usr/bin/npm", ["ci", "--prefer-offline"], {
      cwd: dir,
      encoding: "utf8",
      env: { HOME: process.env.HOME ?? "/root", PATH: SYSTEM_PATH },
    });
    install = { status: r.status, out: r.stdout + r.stderr };
  }, 600_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("npm ci succeeds without a wall of warnings: at most one line about Node", () => {
    expect(install.status, install.out).toBe(0);
    expect(install.out).not.toMatch(/warn/i);
    const nodeLines = install.out.split("\n").filter((l) => /\bNode\b/.test(l));
    expect(nodeLines.length, install.out).toBeLessThanOrEqual(1);
  });

  it("npx --no-install wgkex-agent --help and --version work at once, without the registry", () => {
    // An unreachable registry: had npx looked anything up, it would hang or fail.
    const env = {
      HOME: process.env.HOME ?? "/root",
      PATH: SYSTEM_PATH,
      npm_config_registry: "http://127.0.0.1:9/",
      npm_config_update_notifier: "false",
    };
    const help = spawnSync("/usr/bin/npx", ["--no-install", "wgkex-agent", "--help"], {
      cwd: dir,
      encoding: "utf8",
      env,
      timeout: 60_000,
    });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^wgkex-agent \d+\.\d+\.\d+: programs WireGuard/);
    const version = spawnSync("/usr/bin/npx", ["--no-install", "wgkex-agent", "--version"], {
      cwd: dir,
      encoding: "utf8",
      env,
      timeout: 60_000,
    });
    expect(version.stdout).toMatch(/^wgkex-agent \d+\.\d+\.\d+\n$/);
  });
});
