#!/usr/bin/env node
// `wgkex-agent` in a checkout, right after `npm ci`: a committed shim rather than a
// `prepare`/`postinstall` build. npm links a bin only if its file exists when it installs,
// and a bin that is not linked makes `npx wgkex-agent` ask the public registry for a package
// of that name, which whoever publishes it there would control. A shim always exists, needs no
// install script (npm may hold those back for approval) and never runs a stale build.
//
// It runs the TypeScript source where Node strips types (the Node 22 that `npm ci` installs,
// which `npx` and `npm run` put first on PATH), else the bundle from `npm run build -w
// gateway-agent`. Gateways run the bundle itself (the Debian package), not this shim.
import { existsSync } from "node:fs";

const bundle = new URL("../dist/wgkex-agent.mjs", import.meta.url);
if (process.features.typescript) {
  await import(new URL("../src/cli.ts", import.meta.url).href);
} else if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  process.stderr.write(
    `wgkex-agent: this Node.js (${process.version}) cannot run the TypeScript source and there is no bundle yet.\n` +
      "Run it through npm, which uses the repository's Node 22: npx --no-install wgkex-agent --help\n" +
      "or build the bundle for any Node >= 18: npm run build -w gateway-agent\n",
  );
  process.exit(1);
}
