import { z } from "zod";

/**
 * wgkex's rule for a WireGuard public key: 32 bytes in canonical base64. The last
 * character before "=" can only be one whose low two bits are zero, because 32 bytes
 * leave 4 spare bits in the final base64 digit; anything else decodes to a different
 * key and is rejected exactly as wgkex rejects it.
 */
export const PUBLIC_KEY_PATTERN = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$/;

/** Length of a canonical WireGuard public key in base64 characters. */
export const PUBLIC_KEY_LENGTH = 44;

/** A string that passed `isPublicKey`: documentation for signatures, not a brand. */
export type PublicKey = string;

/** Strict check: exactly the 44 canonical characters, nothing around them. */
export function isPublicKey(value: unknown): value is PublicKey {
  return typeof value === "string" && value.length === PUBLIC_KEY_LENGTH && PUBLIC_KEY_PATTERN.test(value);
}

/**
 * What the node API accepts. wgkex matches with Python's `re.match(...$)`, whose `$`
 * also matches before one trailing newline, so "<key>\n" is a valid key there. No Gluon
 * client sends it (the key comes from a shell command substitution, which strips
 * newlines), but a drop-in must not refuse what wgkex accepted: we accept that one
 * newline and store the key without it, so every later step sees the canonical form.
 */
export function normalizeNodeKey(value: unknown): PublicKey | undefined {
  if (typeof value !== "string") return undefined;
  const key = value.endsWith("\n") ? value.slice(0, -1) : value;
  return isPublicKey(key) ? key : undefined;
}

/** zod schema for a canonical key (protocol frames, admin API, agent config). */
export const publicKeySchema = z.string().regex(PUBLIC_KEY_PATTERN, {
  message:
    "must be a WireGuard public key: 44 characters of canonical base64 ending in '=' (as printed by `wg pubkey`)",
});
