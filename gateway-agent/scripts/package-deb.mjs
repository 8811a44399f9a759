// Builds gateway-agent/dist/wgkex-agent_<version>_all.deb with Debian's own dpkg-deb:
// the bundle (/usr/lib/wgkex-agent, /usr/bin/wgkex-agent), the systemd unit (not enabled), the
// example configuration as a conffile, the man page, copyright and changelog.
//   npm run package:deb            (prints the path of the .deb)
// Reproducible: file times are the changelog's date (SOURCE_DATE_EPOCH), owners root:root.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const COMMON_LICENSES = { "Apache-2.0": "Apache-2.0", "MPL-2.0": "MPL-2.0", "CC0-1.0": "CC0-1.0" };
const agent = join(dirname(fileURLToPath(import.meta.url)), "..");
const repo = join(agent, "..");
const packaging = join(agent, "packaging");
const debian = join(packaging, "debian");
const { version } = JSON.parse(readFileSync(join(agent, "package.json"), "utf8"));

const changelog = readFileSync(join(debian, "changelog"), "utf8");
const top = /^wgkex-agent \(([^)]+)\)/.exec(changelog)?.[1];
if (top !== version) {
  throw new Error(`packaging/debian/changelog starts with ${top}, package.json says ${version}: add a changelog entry`);
}
const date = /^ -- .+? {2}(.+)$/m.exec(changelog)?.[1];
const epoch = Math.floor(Date.parse(date ?? "") / 1000);
if (!Number.isFinite(epoch)) throw new Error("packaging/debian/changelog: no parsable date in the trailer line");

execFileSync(process.execPath, [join(agent, "scripts/build.mjs")], { stdio: ["ignore", "ignore", "inherit"] });
const bundle = readFileSync(join(agent, "dist/wgkex-agent.mjs"), "utf8");
const meta = JSON.parse(readFileSync(join(agent, "dist/wgkex-agent.meta.json"), "utf8"));

const stage = mkdtempSync(join(tmpdir(), "wgkex-deb-"));
try {
  const put = (path, content, mode = 0o644) => {
    const file = join(stage, path);
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, content);
    chmodSync(file, mode);
  };
  const gz = (text) => gzipSync(text, { level: 9 }).fill(0, 4, 8); // -n: no name, no time

  // Debian's node is /usr/bin/node (policy: no /usr/bin/env in packaged scripts).
  put("usr/lib/wgkex-agent/wgkex-agent.mjs", bundle.replace(/^#!\/usr\/bin\/env node\n/, "#!/usr/bin/node\n"), 0o755);
  mkdirSync(join(stage, "usr/bin"), { recursive: true });
  symlinkSync("../lib/wgkex-agent/wgkex-agent.mjs", join(stage, "usr/bin/wgkex-agent"));
  put("lib/systemd/system/wgkex-agent.service", readFileSync(join(packaging, "wgkex-agent.service")));
  put("etc/wgkex-agent/config.yaml", readFileSync(join(packaging, "config.example.yaml")));
  put("usr/lib/sysusers.d/wgkex-agent.conf", readFileSync(join(debian, "wgkex-agent.sysusers")));
  put("usr/lib/tmpfiles.d/wgkex-agent.conf", readFileSync(join(debian, "wgkex-agent.tmpfiles")));
  put("usr/share/lintian/overrides/wgkex-agent", readFileSync(join(debian, "lintian-overrides")));
  put("usr/share/man/man1/wgkex-agent.1.gz", gz(readFileSync(join(debian, "wgkex-agent.1"))));
  put("usr/share/doc/wgkex-agent/changelog.gz", gz(changelog));
  put("usr/share/doc/wgkex-agent/copyright", copyright(meta));

  const files = walk(stage).filter((f) => !statSync(join(stage, f), { throwIfNoEntry: false })?.isDirectory());
  const sizeKiB = files.reduce((n, f) => n + Math.ceil(statSync(join(stage, f)).size / 1024), 0);
  put(
    "DEBIAN/control",
    readFileSync(join(debian, "control"), "utf8")
      .replace("@VERSION@", version)
      .replace("@INSTALLED_SIZE@", String(sizeKiB)),
  );
  put("DEBIAN/conffiles", "/etc/wgkex-agent/config.yaml\n");
  cpSync(join(debian, "postinst"), join(stage, "DEBIAN/postinst"));
  cpSync(join(debian, "postrm"), join(stage, "DEBIAN/postrm"));
  chmodSync(join(stage, "DEBIAN/postinst"), 0o755);
  chmodSync(join(stage, "DEBIAN/postrm"), 0o755);
  const sums = files
    .filter((f) => !f.startsWith("etc/") && !f.startsWith("DEBIAN/") && f !== "usr/bin/wgkex-agent")
    .sort()
    .map(
      (f) =>
        `${createHash("md5")
          .update(readFileSync(join(stage, f)))
          .digest("hex")}  ${f}\n`,
    )
    .join("");
  put("DEBIAN/md5sums", sums);
  for (const dir of walk(stage).filter((f) => statSync(join(stage, f)).isDirectory()))
    chmodSync(join(stage, dir), 0o755);

  const out = join(agent, "dist", `wgkex-agent_${version}_all.deb`);
  rmSync(out, { force: true });
  execFileSync("dpkg-deb", ["--root-owner-group", "-Zxz", "--build", stage, out], {
    env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
    stdio: ["ignore", "ignore", "inherit"],
  });
  console.log(relative(repo, out));
} finally {
  rmSync(stage, { recursive: true, force: true });
}

function walk(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    const rel = relative(base, path);
    return e.isDirectory() ? [rel, ...walk(path, base)] : [rel];
  });
}

/** The agent's license, then every npm package inside the bundle with its own license text. */
function copyright(metafile) {
  const packages = new Map();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (!m) continue;
    const dir = join(repo, input.slice(0, m.index + m[0].length - 1));
    if (packages.has(m[1]) || !existsSync(join(dir, "package.json"))) continue;
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const licenseFile = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
    if (!licenseFile) throw new Error(`${m[1]}: no license file to ship in the copyright file`);
    // Policy 12.5: licenses Debian ships in /usr/share/common-licenses are referred to, not copied.
    const common = COMMON_LICENSES[pkg.license];
    const text = common
      ? `On Debian systems the full text of the ${pkg.license} license is in /usr/share/common-licenses/${common}.`
      : readFileSync(join(dir, licenseFile), "utf8");
    packages.set(m[1], { version: pkg.version, license: pkg.license, text });
  }
  const names = [...packages.keys()].sort();
  if (!names.includes("zod") || !names.includes("ws")) throw new Error("the bundle's metafile names no npm packages");
  return [
    "wgkex-agent: the gateway agent of wgkex-edge, the WireGuard key exchange for Freifunk.",
    "",
    "Copyright (C) 2026 the wgkex-edge contributors",
    "",
    "This program is free software: you can redistribute it and/or modify it under the terms of",
    "the GNU Affero General Public License as published by the Free Software Foundation, either",
    "version 3 of the License, or (at your option) any later version (AGPL-3.0-or-later).",
    "",
    "This program is distributed in the hope that it will be useful, but WITHOUT ANY WARRANTY;",
    "without even the implied warranty of MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.",
    "The full license text: https://www.gnu.org/licenses/agpl-3.0.txt",
    "",
    "The agent is shipped as one bundle, /usr/lib/wgkex-agent/wgkex-agent.mjs, which also",
    "contains these npm packages, each under its own license (texts below):",
    "",
    ...names.map((n) => `  ${n} ${packages.get(n).version} (${packages.get(n).license})`),
    "",
    ...names.flatMap((n) => [`---- ${n} ${packages.get(n).version} ----`, "", packages.get(n).text.trimEnd(), ""]),
  ].join("\n");
}
