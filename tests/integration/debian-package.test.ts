import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { keyPair } from "@wgkex-edge/gateway-agent/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../edge/local/serve.ts";
import { tempDir } from "../support/edge.ts";
import { node18 } from "../support/node18.ts";
import { executable, isRoot, missingPrerequisite } from "../support/require-tool.ts";

// `npm run package:deb` → wgkex-agent_<version>_all.deb, built with dpkg-deb, lintian-clean,
// installed into a scratch root with dpkg, and `wgkex-agent check` run from the installed files.
const skip = missingPrerequisite([
  [isRoot(), "root (dpkg --root sets owners)"],
  [executable("/usr/bin/dpkg-deb"), "dpkg-deb (dpkg)"],
  [executable("/usr/bin/lintian"), "lintian"],
  [executable("/usr/bin/systemd-sysusers"), "systemd-sysusers (systemd)"],
]);

const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, "gateway-agent/package.json"), "utf8")) as {
  version: string;
};
let deb = "";
let root = "";
const hostHasUser = () => readFileSync("/etc/passwd", "utf8").includes("\nwgkex-agent:");
const hostHadUser = hostHasUser();

function dpkg(args: string[]) {
  // --force-script-chrootless: run the maintainer scripts on this host instead of chroot()ing
  //   into a root that has no shell; they honour DPKG_ROOT (which dpkg sets) and touch only it.
  // --force-depends: the scratch root's database knows no nodejs, iproute2, … (the host has them).
  return spawnSync(
    "dpkg",
    [`--root=${root}`, "--log=/dev/null", "--force-script-chrootless", "--force-depends", ...args],
    { encoding: "utf8", env: { ...process.env, PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } },
  );
}

describe.skipIf(skip)("the Debian package", () => {
  beforeAll(() => {
    const out = execFileSync("npm", ["run", "-s", "package:deb"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
    deb = path.join(REPO_ROOT, out);
    root = tempDir("deb-root");
    // A minimal dpkg database: the status file and the directories dpkg writes to.
    for (const dir of ["var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "etc"]) {
      mkdirSync(path.join(root, dir), { recursive: true });
    }
    writeFileSync(path.join(root, "var/lib/dpkg/status"), "");
  }, 120_000);

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("is named wgkex-agent_<version>_all.deb and declares what a gateway needs", () => {
    expect(path.basename(deb)).toBe(`wgkex-agent_${version}_all.deb`);
    const field = (name: string) => execFileSync("dpkg-deb", ["--field", deb, name], { encoding: "utf8" }).trim();
    expect(field("Package")).toBe("wgkex-agent");
    expect(field("Version")).toBe(version);
    expect(field("Architecture")).toBe("all");
    expect(field("Depends")).toBe("nodejs (>= 18.19), iproute2, wireguard-tools, batctl, systemd");
    expect(field("Suggests")).toBe("wireguard-go");
    expect(execFileSync("dpkg-deb", ["--ctrl-tarfile", deb]).length).toBeGreaterThan(0);
    const conffiles = execFileSync("sh", ["-c", 'dpkg-deb --ctrl-tarfile "$1" | tar -xO ./conffiles', "sh", deb], {
      encoding: "utf8",
    });
    expect(conffiles).toBe("/etc/wgkex-agent/config.yaml\n");
    const copyright = execFileSync(
      "sh",
      ["-c", 'dpkg-deb --fsys-tarfile "$1" | tar -xO ./usr/share/doc/wgkex-agent/copyright', "sh", deb],
      { encoding: "utf8" },
    );
    expect(copyright).toContain("AGPL-3.0-or-later");
    for (const bundled of ["zod", "ws", "execa", "prom-client", "yaml"])
      expect(copyright).toMatch(new RegExp(`^  ${bundled} \\d`, "m"));
  });

  it("is lintian-clean (errors, warnings, info and pedantic tags)", () => {
    const r = spawnSync("lintian", ["-I", "--pedantic", "--fail-on", "error,warning,info,pedantic", deb], {
      encoding: "utf8",
    });
    expect(r.stdout, r.stdout + r.stderr).toBe("");
    expect(r.status, r.stderr).toBe(0);
  });

  it("installs into a scratch root: files, user, state directory, nothing enabled", () => {
    const r = dpkg(["--install", deb]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(readlinkSync(path.join(root, "usr/bin/wgkex-agent"))).toBe("../lib/wgkex-agent/wgkex-agent.mjs");
    const bundle = readFileSync(path.join(root, "usr/lib/wgkex-agent/wgkex-agent.mjs"), "utf8");
    expect(bundle.startsWith("#!/usr/bin/node\n")).toBe(true);
    expect(existsSync(path.join(root, "lib/systemd/system/wgkex-agent.service"))).toBe(true);
    expect(readFileSync(path.join(root, "lib/systemd/system/wgkex-agent.service"), "utf8")).toContain(
      "ExecStart=/usr/bin/wgkex-agent run --config /etc/wgkex-agent/config.yaml",
    );
    expect(existsSync(path.join(root, "usr/share/man/man1/wgkex-agent.1.gz"))).toBe(true);
    // The user, from the package's sysusers.d entry, and the permissions from its tmpfiles.d entry.
    const passwd = readFileSync(path.join(root, "etc/passwd"), "utf8");
    const user = passwd
      .split("\n")
      .find((l) => l.startsWith("wgkex-agent:"))!
      .split(":");
    expect(user[5]).toBe("/var/lib/wgkex-agent");
    expect(user[6]).toBe("/usr/sbin/nologin");
    const gid = Number(
      readFileSync(path.join(root, "etc/group"), "utf8")
        .split("\n")
        .find((l) => l.startsWith("wgkex-agent:"))!
        .split(":")[2],
    );
    const state = statSync(path.join(root, "var/lib/wgkex-agent"));
    expect(state.mode & 0o777).toBe(0o700);
    expect(state.uid).toBe(Number(user[2]));
    const config = statSync(path.join(root, "etc/wgkex-agent/config.yaml"));
    expect(config.mode & 0o777).toBe(0o640);
    expect(config.gid).toBe(gid);
    expect(statSync(path.join(root, "etc/wgkex-agent")).mode & 0o777).toBe(0o750);
    // Nothing enabled or started: no wants link anywhere under etc/systemd.
    expect(existsSync(path.join(root, "etc/systemd"))).toBe(false);
    // The maintainer scripts ran on this host but changed only the scratch root.
    expect(lstatSync(path.join(root, "usr/bin/wgkex-agent")).isSymbolicLink()).toBe(true);
    expect(hostHasUser()).toBe(hostHadUser);
  });

  it("runs `wgkex-agent check` from the installed files, on the host's node and on Node 18", () => {
    // A configuration as an operator would write it, with its token and key inside the root.
    const etc = path.join(root, "etc/wgkex-agent");
    const example = readFileSync(path.join(etc, "config.yaml"), "utf8");
    writeFileSync(path.join(etc, "wg-welt.key"), `${keyPair().privateKey}\n`, { mode: 0o640 });
    writeFileSync(path.join(etc, "token"), "token-of-gw01\n", { mode: 0o640 });
    const config = path.join(etc, "test.yaml");
    writeFileSync(config, example.replaceAll("/etc/wgkex-agent/", `${etc}/`));
    const installed = path.join(root, "usr/bin/wgkex-agent");
    for (const run of [[installed], [node18(), path.join(root, "usr/lib/wgkex-agent/wgkex-agent.mjs")]]) {
      const r = spawnSync(run[0]!, [...run.slice(1), "check", "--config", config], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(new RegExp(`^ok {3}configuration ${config}: gateway gw01, 1 domain\\(s\\)\\n`));
      expect(r.stdout).toMatch(/^ok {3}edge\.token_file /m);
      expect(r.stdout).toMatch(/^ok {3}domains\.ffmuc_welt\.private_key_file: public key /m);
      expect(r.stdout).toMatch(/^(all checks passed|\d+ problem\(s\) found)\n$/m);
      // Only the kernel may be missing things on a test machine (WireGuard, batman-adv modules).
      for (const line of r.stdout.split("\n").filter((l) => l.startsWith("FAIL")))
        expect(line).toMatch(/^FAIL kernel /);
      expect([0, 1]).toContain(r.status);
    }
    expect(spawnSync(installed, ["--version"], { encoding: "utf8" }).stdout).toBe(`wgkex-agent ${version}\n`);
  });

  it("removes cleanly and purges its state and configuration", () => {
    expect(dpkg(["--remove", "wgkex-agent"]).status).toBe(0);
    expect(existsSync(path.join(root, "usr/lib/wgkex-agent/wgkex-agent.mjs"))).toBe(false);
    expect(existsSync(path.join(root, "etc/wgkex-agent/config.yaml"))).toBe(true); // a conffile stays
    expect(dpkg(["--purge", "wgkex-agent"]).status).toBe(0);
    expect(existsSync(path.join(root, "etc/wgkex-agent/config.yaml"))).toBe(false);
    expect(existsSync(path.join(root, "var/lib/wgkex-agent"))).toBe(false);
  });
});
