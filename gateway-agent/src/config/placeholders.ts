import { findPlaceholders, IMPORT_PLACEHOLDER, interfacesForSuffix, matchingPrefix } from "@wgkex-edge/shared";

/**
 * `import-wgkex` leaves CHANGE-ME where wgkex.yaml cannot tell the value. The agent refuses
 * to start (`check` and `run` alike) until each is replaced, and says for each field where
 * the value is found on a running wgkex gateway.
 */
export function placeholderProblems(raw: Record<string, unknown>): Array<{ path: string; message: string }> {
  return findPlaceholders(raw).map(({ path, segments }) => ({
    path,
    message: `is still the import-wgkex placeholder ${IMPORT_PLACEHOLDER}: ${hint(raw, segments)}`,
  }));
}

function hint(raw: Record<string, unknown>, segments: ReadonlyArray<string | number>): string {
  const [top, domain, field, , peerField] = segments;
  if (top === "edge" && domain === "url") return "set the edge's URL, e.g. https://broker.ffmuc.net";
  if (top === "external_address") {
    return "set this gateway's public DNS name, wgkex's externalName in this gateway's own wgkex.yaml (e.g. gw04.ext.ffmuc.net)";
  }
  if (top === "gateway") return "set this gateway's name as the edge's WGKEX_CONFIG lists it, e.g. gw04";
  if (top !== "domains" || typeof domain !== "string") return "replace it with the real value";
  const { wireguard, vxlan } = interfacesOf(raw, domain);
  switch (field) {
    case "listen_port":
      return `the UDP port ${wireguard} listens on now (\`wg show ${wireguard} listen-port\`); nodes' tunnels point at it`;
    case "mtu":
      return `the MTU ${wireguard} has now (\`ip link show ${wireguard}\`); the agent sets it at start`;
    case "domain_seed":
      return `domain_seed from the Gluon site's domains/${domain}.conf, or replace the line with vni: N (the id in \`ip -d link show ${vxlan}\`)`;
    case "vni":
      return `the VXLAN id in \`ip -d link show ${vxlan}\``;
    case "interface_suffix":
      return "at most 11 characters: the part after wg-/vx-/bat- of this domain's interfaces";
    case "static_peers":
      return peerField === "public_key"
        ? `that gateway's public key for this domain (\`wg show ${wireguard} public-key\` on it)`
        : "describe the other gateway on this interface";
    default:
      return "replace it with the real value";
  }
}

/** The domain's interface names as far as the raw configuration tells them (for hints only). */
function interfacesOf(raw: Record<string, unknown>, domain: string): { wireguard: string; vxlan: string } {
  const prefixes = Array.isArray(raw.domain_prefixes) ? raw.domain_prefixes.filter((p) => typeof p === "string") : [];
  const settings = (raw.domains as Record<string, { interface_suffix?: unknown }> | undefined)?.[domain];
  const prefix = matchingPrefix(domain, prefixes);
  const suffix =
    typeof settings?.interface_suffix === "string" && !settings.interface_suffix.includes(IMPORT_PLACEHOLDER)
      ? settings.interface_suffix
      : prefix === undefined
        ? undefined
        : domain.slice(prefix.length);
  try {
    if (suffix !== undefined) return interfacesForSuffix(suffix);
  } catch {
    // a suffix too long for an interface name: the generic names below
  }
  return { wireguard: "wg-<suffix>", vxlan: "vx-<suffix>" };
}
