import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// Import cycles are a lint error (biome's noImportCycles, type-only imports included, in
// biome.json). `npm test` checks it too, since CI runs the tests and not the linter.
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIOME = path.join(REPO_ROOT, "node_modules/@biomejs/biome/bin/biome");
const ONLY_CYCLES = ["lint", "--only=suspicious/noImportCycles", "--max-diagnostics=20"];
// Biome over every workspace is a process spawn and a full parse: seconds on a loaded
// 2-core machine, more than vitest's default 5 s. Not a timing goal, only a guard.
const BIOME_TIMEOUT_MS = 60_000;

function biome(cwd: string, targets: string[]): { status: number | null; out: string } {
  const result = spawnSync(process.execPath, [BIOME, ...ONLY_CYCLES, ...targets], { cwd, encoding: "utf8" });
  return { status: result.status, out: result.stdout + result.stderr };
}

describe("import cycles", { timeout: BIOME_TIMEOUT_MS }, () => {
  it("no source file of any workspace is part of an import cycle", () => {
    const { status, out } = biome(REPO_ROOT, ["shared", "edge", "gateway-agent", "tests", "bench", "scripts"]);
    expect(status, out).toBe(0);
  });

  it("the check finds a cycle made of type-only imports", () => {
    const dir = mkdtempSync(path.join(tmpdir(), `wgkex-cycles-${process.pid}-`));
    try {
      copyFileSync(path.join(REPO_ROOT, "biome.json"), path.join(dir, "biome.json"));
      writeFileSync(
        path.join(dir, "env.ts"),
        'import type { Registry } from "./registry.ts";\nexport type Env = { r?: Registry };\n',
      );
      writeFileSync(
        path.join(dir, "registry.ts"),
        'import type { Env } from "./env.ts";\nexport type Registry = { e?: Env };\n',
      );
      const { status, out } = biome(dir, ["."]);
      expect(status, out).toBe(1);
      expect(out).toContain("noImportCycles");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
