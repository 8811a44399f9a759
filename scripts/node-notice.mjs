// Root `postinstall`: one line, and only when npm itself ran on a Node older than the tools need.
// The tools (vitest, wrangler, miniflare) need Node >= 22; `npm ci` installs it (the `node`
// devDependency) and `npm run`/`npx` put it first on PATH, so nothing else is required.
import { execFileSync } from "node:child_process";

const npmNode = process.env.npm_node_execpath;
const version = npmNode ? execFileSync(npmNode, ["--version"], { encoding: "utf8" }).trim() : process.version;
if (Number(/^v(\d+)/.exec(version)?.[1] ?? 0) < 22) {
  console.log(
    `wgkex-edge: npm ran on Node ${version}; the tools run on the Node ${process.versions.node} this install put in node_modules/.bin (npm run and npx use it).`,
  );
}
