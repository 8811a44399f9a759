import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { convertWgkex, type ImportOptions, WgkexImportError } from "./wgkex.ts";

export interface ImportCommandOptions extends ImportOptions {
  outDir?: string;
  dryRun?: boolean;
}

export interface ImportIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Exit codes as in cli.ts: 0 ok, 1 failure (cannot write), 3 the wgkex.yaml is unusable. */
export function importWgkexCommand(file: string, options: ImportCommandOptions, io: ImportIO): number {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    io.stderr(`wgkex-agent import-wgkex: ${file}: cannot read: ${(e as Error).message}\n`);
    return 3;
  }
  let result: ReturnType<typeof convertWgkex>;
  try {
    result = convertWgkex(text, { ...options, source: file });
  } catch (e) {
    if (e instanceof WgkexImportError) {
      io.stderr(`wgkex-agent import-wgkex: ${file}: ${e.message}\n`);
      return 3;
    }
    throw e;
  }
  const files: Array<[string, string]> = [
    ["WGKEX_CONFIG.toml", result.edgeToml],
    ...[...result.agents].map(([name, yaml]): [string, string] => [`agent-${name}.yaml`, yaml]),
    ["import-report.txt", result.report],
  ];
  if (options.dryRun) {
    for (const [name, content] of files) io.stdout(`==> ${name} <==\n${content}\n`);
    return 0;
  }
  const outDir = options.outDir ?? "wgkex-import";
  try {
    mkdirSync(outDir, { recursive: true });
    for (const [name, content] of files) writeFileSync(join(outDir, name), content, { mode: 0o644 });
  } catch (e) {
    io.stderr(`wgkex-agent import-wgkex: cannot write to ${outDir}: ${(e as Error).message}\n`);
    return 1;
  }
  io.stdout(result.report);
  io.stdout(`Wrote ${files.map(([n]) => join(outDir, n)).join(", ")}\n`);
  return 0;
}
