import { domainSuffix } from "./domain.ts";

/** Linux IFNAMSIZ is 16 including the terminating NUL. */
export const MAX_INTERFACE_NAME_LENGTH = 15;

/**
 * Stricter than Linux (which forbids only '/', ':', whitespace and "."/".."): these names
 * end up as arguments of `ip`, `bridge`, `wg` and `batctl`, in metrics labels and logs,
 * so they stay inside the characters every one of those treats as plain text.
 */
const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;

export class InterfaceNameError extends Error {
  override name = "InterfaceNameError";
}

/** Throws a message saying which name is wrong, why, and what to do about it. */
export function checkInterfaceName(name: string): string {
  if (name.length === 0) throw new InterfaceNameError("interface name is empty");
  if (name.length > MAX_INTERFACE_NAME_LENGTH) {
    throw new InterfaceNameError(
      `interface name "${name}" has ${name.length} characters; Linux allows at most ${MAX_INTERFACE_NAME_LENGTH}. ` +
        "Use a shorter domain suffix (configure a longer domain prefix, or set interface_suffix for the domain).",
    );
  }
  if (!NAME_PATTERN.test(name)) {
    throw new InterfaceNameError(
      `interface name "${name}" may only contain A-Z, a-z, 0-9, '_' and '-'; rename the domain suffix (interface_suffix).`,
    );
  }
  return name;
}

export interface DomainInterfaces {
  readonly suffix: string;
  readonly wireguard: string;
  readonly vxlan: string;
  readonly batman: string;
  readonly bridge: string;
}

/** `wg-`, `vx-`, `bat-`, `br-` plus the suffix, each checked against Linux's limits. */
export function interfacesForSuffix(suffix: string): DomainInterfaces {
  if (suffix.length === 0) {
    throw new InterfaceNameError("domain suffix is empty: the domain equals its prefix; set interface_suffix");
  }
  return {
    suffix,
    wireguard: checkInterfaceName(`wg-${suffix}`),
    vxlan: checkInterfaceName(`vx-${suffix}`),
    batman: checkInterfaceName(`bat-${suffix}`),
    bridge: checkInterfaceName(`br-${suffix}`),
  };
}

/** Interface names of a domain: `ffmuc_welt` with prefix `ffmuc_` gives `wg-welt` etc. */
export function interfacesForDomain(domain: string, prefixes: readonly string[]): DomainInterfaces {
  return interfacesForSuffix(domainSuffix(domain, prefixes));
}
