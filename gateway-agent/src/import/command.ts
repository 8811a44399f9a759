import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { matchingPrefix } from "@wgkex-edge/shared";
import type { CommandRunner } from "../commands/runner.ts";
import { SUFFIX } from "./agent-skeleton.ts";
import { type HostDomainFacts, readHostDomain } from "./host.ts";
import { convertWgkex, type ImportOptions, WgkexImportError } from "./wgkex.ts";

export interface ImportCommandOptions extends Omit<ImportOptions, "host"> {
  outDir?: string;
  dryRun?: boolean;
  /** Read listen port, MTU, VNI and bridge from this gateway's interfaces (needs `gateway`). */
  fromHost?: boolean;
}

export interface ImportIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Runs the read-only commands of `--from-host`. */
  runner: () => CommandRunner;
}

/** Exit codes as in cli.ts: 0 ok, 1 failure (cannot write), 2 usage, 3 the wgkex.yaml is unusable. */
export async function importWgkexCommand(file: string, options: ImportCommandOptions, io: ImportIO): Promise<number> {
  if (options.fromHost && options.gateway === undefined) {
    io.stderr(
      "wgkex-agent import-wgkex: --from-host reads this gateway's interfaces: say which gateway with --gateway NAME\n",
    );
    return 2;
  }
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
    if (options.fromHost) {
      const host = new Map<string, HostDomainFacts>();
      for (const d of result.domains) {
        const suffix = d.slice(matchingPrefix(d, result.domainPrefixes)!.length);
        if (SUFFIX.test(suffix)) host.set(d, await readHostDomain(io.runner(), suffix));
      }
      result = convertWgkex(text, { ...options, source: file, host });
    }
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
