/** The edge's `[vars.WGKEX_CONFIG]` from what wgkex.yaml said, as TOML text and as the object it means. */
import type { ImportedGateway } from "./wgkex-yaml.ts";

export interface EdgeTable {
  domains: string[];
  domain_prefixes: string[];
  retention_hours: number;
  gateways: Array<{ name: string; weight: number; location?: string }>;
}

const toml = (v: string) => JSON.stringify(v);

export function edgeTable(domains: string[], prefixes: string[], gateways: readonly ImportedGateway[]): EdgeTable {
  return {
    domains,
    domain_prefixes: prefixes,
    retention_hours: 168,
    gateways: gateways.map((g) => ({
      name: g.name,
      weight: g.weight,
      ...(g.location ? { location: g.location } : {}),
    })),
  };
}

export function edgeToml(table: EdgeTable, gateways: readonly ImportedGateway[], header: string): string {
  return [
    `# ${header}`,
    "# Paste into wrangler.toml. For production, use the header [env.production.vars.WGKEX_CONFIG].",
    "# Every field: docs/configuration.md. Tokens are secrets: wrangler secret put GATEWAY_TOKENS / ADMIN_TOKEN.",
    "[vars.WGKEX_CONFIG]",
    "domains = [",
    ...table.domains.map((d) => `  ${toml(d)},`),
    "]",
    `domain_prefixes = [${table.domain_prefixes.map(toml).join(", ")}]`,
    `retention_hours = ${table.retention_hours}`,
    "gateways = [",
    ...gateways.map(
      (g) =>
        `  { name = ${toml(g.name)}, weight = ${g.weight}${g.location ? `, location = ${toml(g.location)}` : ""} },${g.worker ? ` # wgkex worker ${g.worker}` : ""}`,
    ),
    "]",
    "",
  ].join("\n");
}
