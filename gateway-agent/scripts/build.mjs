// Bundle the agent into one file that runs on Debian's own Node.js: bookworm 18.20, trixie 20.19
// (the Debian package depends on nodejs >= 18.19; tests/integration/bundle-node18.test.ts runs it there).
import { chmodSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = join(root, "dist/wgkex-agent.mjs");
// Several test suites build at once while others run the bundle: write aside, then rename.
const partial = join(root, `dist/.wgkex-agent.${process.pid}.mjs`);
const result = await build({
  entryPoints: [join(root, "src/cli.ts")],
  outfile: partial,
  bundle: true,
  platform: "node",
  target: "node18",
  format: "esm",
  minify: false,
  legalComments: "none",
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __wgkexCreateRequire } from 'node:module';\nconst require = __wgkexCreateRequire(import.meta.url);",
  },
  // ws optionally loads native add-ons; the pure-JS fallbacks are used without them.
  external: ["bufferutil", "utf-8-validate"],
  logLevel: "warning",
  // What went into the bundle (paths relative to the repository, wherever this runs from): the
  // Debian package's copyright file lists those packages.
  metafile: true,
  absWorkingDir: join(root, ".."),
});
chmodSync(partial, 0o755);
const meta = join(root, `dist/.wgkex-agent.${process.pid}.meta.json`);
writeFileSync(meta, JSON.stringify(result.metafile));
renameSync(meta, join(root, "dist/wgkex-agent.meta.json"));
renameSync(partial, outfile);
console.log(`built ${outfile}`);
