import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { isPublicKey } from "@wgkex-edge/shared";
import type { AgentConfig } from "./config/schema.ts";
import { privateKeyAdvice, publicKeyFromPrivate } from "./keys.ts";

/** What `check` looks at on the host; injectable for tests. */
export interface HostProbe {
  which(binary: string): string | undefined;
  exists(path: string): boolean;
  readFile(path: string): string;
  kernelRelease(): string;
  uid(): number;
  /** The public key a WireGuard interface has now (`wg show IF public-key`), if it exists and has one. */
  interfaceKey(wireguard: string, netns: string | undefined): string | undefined;
}

export const realHost: HostProbe = {
  which(binary) {
    if (binary.includes("/")) return existsSync(binary) ? binary : undefined;
    for (const dir of (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(delimiter)) {
      const p = join(dir, binary);
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {
        // next
      }
    }
    for (const dir of ["/usr/sbin", "/sbin"]) {
      const p = join(dir, binary);
      if (existsSync(p)) return p;
    }
    return undefined;
  },
  exists: (p) => existsSync(p),
  readFile: (p) => readFileSync(p, "utf8"),
  kernelRelease: () => {
    try {
      return readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
    } catch {
      return "";
    }
  },
  uid: () => process.getuid?.() ?? -1,
  interfaceKey: (wireguard, netns) => {
    const argv = [...(netns ? ["ip", "netns", "exec", netns] : []), "wg", "show", wireguard, "public-key"];
    try {
      const out = execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      return isPublicKey(out.trim()) ? out.trim() : undefined;
    } catch {
      return undefined;
    }
  },
};

export interface CheckItem {
  readonly ok: boolean;
  readonly what: string;
  /** Why it fails and how to fix it. */
  readonly detail?: string;
}

const PACKAGES: Record<string, string> = {
  wg: "wireguard-tools",
  ip: "iproute2",
  bridge: "iproute2",
  batctl: "batctl",
  "wireguard-go": "wireguard-go",
};

/** Loaded, built in, or present as a loadable module of the running kernel. */
export function kernelModule(host: HostProbe, module: string): "loaded" | "available" | "missing" {
  if (host.exists(`/sys/module/${module}`)) return "loaded";
  const release = host.kernelRelease();
  const file = module.replaceAll("_", "[-_]");
  const re = new RegExp(`/${file}\\.ko`);
  for (const list of ["modules.builtin", "modules.dep"]) {
    try {
      if (re.test(host.readFile(`/lib/modules/${release}/${list}`))) return "available";
    } catch {
      // no list
    }
  }
  return "missing";
}

/** Check binaries, kernel support, permissions and files the configuration needs. */
export function checkHost(config: AgentConfig, host: HostProbe = realHost): CheckItem[] {
  const items: CheckItem[] = [];
  const userspace = config.wireguard.implementation === "userspace";
  // Parker domains are WireGuard and routes only: no VXLAN, bridge or batman-adv.
  const meshDomains = config.domains.filter((d) => d.mode !== "parker");
  const batman = meshDomains.some((d) => d.batman.enabled);
  const binaries = ["wg", "ip", ...(meshDomains.length > 0 ? ["bridge"] : []), ...(batman ? ["batctl"] : [])];
  if (config.wireguard.implementation === "userspace") binaries.push(config.wireguard.command[0]!);
  for (const bin of binaries) {
    const path = host.which(bin);
    items.push(
      path
        ? { ok: true, what: `binary ${bin}: ${path}` }
        : {
            ok: false,
            what: `binary ${bin}`,
            detail: `not found in PATH: install it (\`apt install ${PACKAGES[bin] ?? bin}\`)`,
          },
    );
  }
  const release = host.kernelRelease();
  if (userspace) {
    items.push(
      host.exists("/dev/net/tun")
        ? { ok: true, what: "userspace WireGuard: /dev/net/tun present" }
        : {
            ok: false,
            what: "userspace WireGuard",
            detail: "/dev/net/tun is missing: load the tun module (`modprobe tun`)",
          },
    );
  } else {
    const wgMod = kernelModule(host, "wireguard");
    items.push(
      wgMod === "missing"
        ? {
            ok: false,
            what: "kernel WireGuard",
            detail: `kernel module wireguard not available in kernel ${release}: use Linux ≥ 5.6 with CONFIG_WIREGUARD, or set wireguard: { implementation: userspace, command: [wireguard-go, -f] } and \`apt install wireguard-go\``,
          }
        : { ok: true, what: `kernel WireGuard: ${wgMod}` },
    );
  }
  const vx = meshDomains.length > 0 ? kernelModule(host, "vxlan") : "not needed (Parker domains only)";
  items.push(
    vx === "missing"
      ? {
          ok: false,
          what: "kernel VXLAN",
          detail: `kernel module vxlan not available in kernel ${release}: install linux-modules-extra / use a kernel with CONFIG_VXLAN`,
        }
      : { ok: true, what: `kernel VXLAN: ${vx}` },
  );
  if (batman) {
    const bat = kernelModule(host, "batman_adv");
    const domains = meshDomains.filter((d) => d.batman.enabled).map((d) => d.name);
    items.push(
      bat === "missing"
        ? {
            ok: false,
            what: "kernel batman-adv",
            detail: `kernel module batman_adv not available in kernel ${release}: \`modprobe batman-adv\` fails; install linux-modules-extra for this kernel or use a kernel with CONFIG_BATMAN_ADV (or set batman.enabled: false for ${domains.join(", ")})`,
          }
        : { ok: true, what: `kernel batman-adv: ${bat}${bat === "available" ? " (run `modprobe batman-adv`)" : ""}` },
    );
  } else {
    items.push({ ok: true, what: "kernel batman-adv: not needed (batman.enabled: false everywhere)" });
  }
  // Permissions: root, or CAP_NET_ADMIN (bit 12) in the effective set.
  let capOk = host.uid() === 0;
  if (!capOk) {
    try {
      const m = /^CapEff:\s*([0-9a-f]+)/m.exec(host.readFile("/proc/self/status"));
      capOk = m ? (BigInt(`0x${m[1]}`) & (1n << 12n)) !== 0n : false;
    } catch {
      capOk = false;
    }
  }
  items.push(
    capOk
      ? { ok: true, what: "permissions: root or CAP_NET_ADMIN" }
      : {
          ok: false,
          what: "permissions",
          detail:
            "neither root nor CAP_NET_ADMIN: run as root or with AmbientCapabilities=CAP_NET_ADMIN (see packaging/wgkex-agent.service)",
        },
  );
  // Files.
  try {
    const token = host.readFile(config.edge.token_file).trim();
    items.push(
      token
        ? { ok: true, what: `edge.token_file ${config.edge.token_file}: readable` }
        : {
            ok: false,
            what: `edge.token_file ${config.edge.token_file}`,
            detail: "is empty: put the gateway's token there",
          },
    );
  } catch (e) {
    items.push({
      ok: false,
      what: `edge.token_file ${config.edge.token_file}`,
      detail: `cannot read: ${(e as Error).message}`,
    });
  }
  for (const d of config.domains) items.push(privateKeyItem(config, d, host));
  return items;
}

/**
 * The domain's key file, and on a migrated gateway whether it is the key the interface runs
 * with: the agent sets the file's key on the interface at start, so another key would break
 * every router's tunnel at once.
 */
function privateKeyItem(config: AgentConfig, d: AgentConfig["domains"][number], host: HostProbe): CheckItem {
  const { wireguard } = d.interfaces;
  const what = `domains.${d.name}.private_key_file ${d.private_key_file}`;
  const running = host.interfaceKey(wireguard, config.netns);
  let pub: string;
  try {
    pub = publicKeyFromPrivate(host.readFile(d.private_key_file).trim());
  } catch (e) {
    const exists = running !== undefined || (config.netns ? undefined : host.exists(`/sys/class/net/${wireguard}`));
    return {
      ok: false,
      what,
      detail: `${(e as Error).message}: ${privateKeyAdvice(d.private_key_file, wireguard, exists)}`,
    };
  }
  if (running !== undefined && running !== pub) {
    return {
      ok: false,
      what,
      detail: `gives public key ${pub}, but ${wireguard} runs with ${running}: the agent would replace the gateway's key and break every router's tunnel; ${privateKeyAdvice(d.private_key_file, wireguard, true).replace(/^[^:]*: /, "")}`,
    };
  }
  return {
    ok: true,
    what: `domains.${d.name}.private_key_file: public key ${pub}${running !== undefined ? ` (the key ${wireguard} runs with)` : ""}`,
  };
}
