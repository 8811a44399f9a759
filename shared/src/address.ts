import { z } from "zod";
import { md5Bytes, md5Hex } from "./md5.ts";

/**
 * How a domain derives link-local addresses from keys. `wgkex`: md5 of the key text plus a
 * newline (wgkex and FFMUC's Gluon client). `gluon`: md5 of the key text alone (upstream
 * Gluon's gluon-mesh-vpn-wireguard).
 */
export const ADDRESS_VARIANTS = ["wgkex", "gluon"] as const;
export type AddressVariant = (typeof ADDRESS_VARIANTS)[number];
export const addressVariantSchema = z.enum(ADDRESS_VARIANTS);

const hex16 = (hi: number, lo: number): string => ((hi << 8) | lo).toString(16);

/**
 * The IPv6 link-local address of a WireGuard peer: `fe80::` + `02 h0 h1 ff fe h2 h3 h4`
 * from the first five md5 bytes, in canonical (RFC 5952) form. The three zero groups after
 * fe80 are always the longest zero run, and no later group can be a run of two, so the
 * canonical form is always `fe80::a:b:c:d`.
 */
export function linkLocal(publicKey: string, variant: AddressVariant = "wgkex"): string {
  const h = md5Bytes(variant === "wgkex" ? `${publicKey}\n` : publicKey);
  return `fe80::${hex16(0x02, h[0] as number)}:${hex16(h[1] as number, 0xff)}:${hex16(0xfe, h[2] as number)}:${hex16(h[3] as number, h[4] as number)}`;
}

/** The key Gluon's `domain_seed_bytes` mixes in for the VXLAN id, per client. */
export const VNI_SEED_KEYS: Record<AddressVariant, string> = {
  wgkex: "gluon-mesh-vpn-vxlan",
  gluon: "gluon-mesh-vxlan",
};

export const DOMAIN_SEED_PATTERN = /^[0-9A-Fa-f]{64}$/;
export const domainSeedSchema = z.string().regex(DOMAIN_SEED_PATTERN, {
  message: "must be a Gluon domain_seed: 64 hexadecimal characters (from the domain's site.conf)",
});

/** Gluon's `util.domain_seed_bytes(key, length)`, as hex: an md5 chain over the seed. */
export function domainSeedBytes(key: string, domainSeed: string, length: number): string {
  const seed = domainSeed.toLowerCase();
  let out = "";
  let v = "";
  for (let i = 1; out.length < 2 * length; i++) {
    v = md5Hex(v + key + seed + String(i));
    out += v;
  }
  return out.slice(0, 2 * length);
}

/** The VXLAN network identifier Gluon derives from a domain seed (3 bytes). */
export function vniFromDomainSeed(domainSeed: string, variant: AddressVariant = "wgkex"): number {
  if (!DOMAIN_SEED_PATTERN.test(domainSeed)) {
    throw new Error("domain seed must be 64 hexadecimal characters (see the domain's site.conf, domain_seed)");
  }
  return Number.parseInt(domainSeedBytes(VNI_SEED_KEYS[variant], domainSeed, 3), 16);
}

/** VXLAN ids are 24 bits. */
export const vniSchema = z
  .number()
  .int()
  .min(1, { message: "must be a VXLAN id between 1 and 16777215" })
  .max(0xffffff, { message: "must be a VXLAN id between 1 and 16777215" });

/**
 * A stable, locally administered unicast MAC address from a text (the gateway's key and
 * the VNI): a VXLAN interface recreated after a reboot keeps its MAC, so the nodes'
 * neighbour caches stay right and the overlay comes back without waiting for them to expire.
 */
export function stableMac(text: string): string {
  const h = md5Bytes(text);
  const bytes = [0x02, h[0]!, h[1]!, h[2]!, h[3]!, h[4]!];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}
