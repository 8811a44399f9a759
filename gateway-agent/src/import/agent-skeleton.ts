/**
 * One agent configuration skeleton per gateway (YAML text). Every value the importer cannot
 * know is CHANGE-ME with a comment saying where to find it; values read from the running
 * gateway (`--from-host`) are filled in and say so.
 */
import { interfacesForSuffix, matchingPrefix, IMPORT_PLACEHOLDER as P } from "@wgkex-edge/shared";
import type { HostDomainFacts } from "./host.ts";
import type { ImportedGateway } from "./wgkex-yaml.ts";

export const SUFFIX = /^[A-Za-z0-9_-]{1,11}$/;

/** A YAML scalar: plain when safe, else double-quoted (JSON strings are valid YAML). */
export const yamlStr = (v: string) => (/^[A-Za-z0-9_./:@-]+$/.test(v) && !/^[-:@]/.test(v) ? v : JSON.stringify(v));

export interface SkeletonInput {
  gateway: ImportedGateway;
  all: readonly ImportedGateway[];
  domains: readonly string[];
  prefixes: readonly string[];
  edgeUrl: string | undefined;
  logLevel: string | undefined;
  /** Per domain, what the running gateway's interfaces say (`--from-host`). */
  host: ReadonlyMap<string, HostDomainFacts> | undefined;
  header: string;
}

export function agentSkeleton(input: SkeletonInput): string {
  const { gateway: g, edgeUrl } = input;
  const out: string[] = [
    `# wgkex-agent configuration for gateway ${g.name}. ${input.header}`,
    `# Replace every ${P} (wgkex-agent check refuses to start until you do); every field: gateway-agent/README.md.`,
    `gateway: ${g.name}${g.worker ? ` # wgkex worker ${g.worker}` : ""}`,
    "edge:",
    `  url: ${edgeUrl ? yamlStr(edgeUrl) : `"https://${P}.example" # ${P}: the edge's URL, e.g. https://broker.ffmuc.net`}`,
    "  token_file: /etc/wgkex-agent/token # this gateway's entry of the GATEWAY_TOKENS secret",
    g.externalAddress
      ? `external_address: ${yamlStr(g.externalAddress)} # wgkex externalName`
      : `external_address: ${P} # ${P}: this gateway's public DNS name (wgkex externalName)${g.externalGuess ? `, probably ${g.externalGuess}` : ""}`,
    `domain_prefixes: [${input.prefixes.map(yamlStr).join(", ")}]`,
    "state_dir: /var/lib/wgkex-agent",
    `log_level: ${input.logLevel ?? "info"}${input.logLevel ? " # wgkex log_level" : ""}`,
    "metrics:",
    '  listen: "127.0.0.1:9761"',
    "wireguard:",
    "  implementation: kernel",
    "cleanup:",
    "  interval_s: 300",
    "  stale_after_s: 10800 # wgkex: 3 h without handshake",
    "  grace_s: 600 # never-handshaked peers get 10 minutes",
    "domains:",
  ];
  for (const d of input.domains) out.push(...domainLines(input, d));
  return `${out.join("\n")}\n`;
}

function domainLines(input: SkeletonInput, d: string): string[] {
  const suffix = d.slice(matchingPrefix(d, input.prefixes)!.length);
  const fits = SUFFIX.test(suffix);
  const names = fits ? interfacesForSuffix(suffix) : undefined;
  const wgIf = names?.wireguard ?? "wg-<suffix>";
  const vxIf = names?.vxlan ?? "vx-<suffix>";
  const host = input.host?.get(d);
  const seen = host?.exists ? host : undefined;
  const fromHost = (what: string) => `# read from ${what} on this gateway`;
  const lines = [
    `  ${d}:`,
    seen?.listenPort
      ? `    listen_port: ${seen.listenPort} ${fromHost(wgIf)}`
      : `    listen_port: ${P} # ${P}: UDP port of ${wgIf} (wg show ${wgIf} listen-port)`,
    `    private_key_file: /etc/wgkex-agent/${wgIf}.key # copy the gateway's existing key: umask 077; wg show ${wgIf} private-key > this file`,
    seen?.vni !== undefined
      ? `    vni: ${seen.vni} ${fromHost(vxIf)}`
      : `    domain_seed: ${P} # ${P}: domain_seed from the Gluon site's domains/${d}.conf, or replace with vni: N (ip -d link show ${vxIf})`,
    seen?.mtu !== undefined
      ? `    mtu: ${seen.mtu} ${fromHost(wgIf)}`
      : `    mtu: ${P} # ${P}: the MTU ${wgIf} has now (ip link show ${wgIf}); the agent sets it at start`,
  ];
  if (!fits) lines.push(`    interface_suffix: ${P} # ${P}: at most 11 characters ("${suffix}" is too long)`);
  lines.push(
    "    variant: wgkex",
    "    batman:",
    ...(seen?.batman === false ? [`      enabled: false # no bat-${suffix} on this gateway`] : []),
    "      gw_mode: server",
    "      throughput_override: 1000mbit",
    bridgeLine(seen?.bridge, suffix, names?.bridge),
  );
  const others = input.all.filter((o) => o !== input.gateway);
  if (others.length === 0) lines.push("    static_peers: []");
  else {
    lines.push("    static_peers: # the other gateways on this interface: never removed by cleanup");
    for (const o of others) {
      lines.push(`      - name: ${o.name}`, `        public_key: ${P} # ${P}: wg show ${wgIf} public-key on ${o.name}`);
    }
  }
  return lines;
}

/** The agent bridges bat-<suffix> into br-<suffix> only; another bridge stays the host's business. */
function bridgeLine(found: string | undefined, suffix: string, ours: string | undefined): string {
  if (found === undefined) return "      bridge: false # true when bat-<suffix> is bridged into br-<suffix>";
  if (found === ours) return `      bridge: true # bat-${suffix} is a port of ${found} on this gateway`;
  return `      bridge: false # bat-${suffix} is a port of ${found}, not ${ours ?? "br-<suffix>"}: left to your network configuration`;
}
