import { z } from "zod";

/** The part of wgkex's configuration that decides which domains nodes may register for. */
export interface DomainRules {
  readonly domains: readonly string[];
  readonly domain_prefixes: readonly string[];
}

/** A domain name as it may appear in configuration: what Gluon site configs use. */
export const DOMAIN_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const domainNameSchema = z.string().regex(DOMAIN_NAME_PATTERN, {
  message: "must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-' (a Gluon domain name such as ffmuc_welt)",
});

/** The prefix a domain starts with, if any; the longest one wins so suffixes are shortest. */
export function matchingPrefix(domain: string, prefixes: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const prefix of prefixes) {
    if (domain.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
  }
  return best;
}

/** wgkex's domain rule: listed in `domains` and starting with one of `domain_prefixes`. */
export function isAllowedDomain(domain: unknown, rules: DomainRules): domain is string {
  return (
    typeof domain === "string" &&
    rules.domains.includes(domain) &&
    matchingPrefix(domain, rules.domain_prefixes) !== undefined
  );
}

/** The domain without its prefix: `ffmuc_welt` with prefix `ffmuc_` gives `welt`. */
export function domainSuffix(domain: string, prefixes: readonly string[]): string {
  const prefix = matchingPrefix(domain, prefixes);
  if (prefix === undefined) {
    throw new Error(`domain "${domain}" starts with none of the prefixes ${JSON.stringify(prefixes)}`);
  }
  return domain.slice(prefix.length);
}
