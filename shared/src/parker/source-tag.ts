import { sha256 } from "@noble/hashes/sha2.js";
import { toHex } from "./bytes.ts";

const encoder = new TextEncoder();

/**
 * What the IPAM keeps of a client address for its per-source limit: a keyed hash (the key is
 * random per object and never leaves it), so the stored value names no address, and two
 * requests from the same address still match. Synchronous, so the domain's object decides
 * and writes in one step.
 */
export function sourceTag(salt: string, source: string): string {
  return toHex(sha256(encoder.encode(`${salt}|${source}`))).slice(0, 32);
}
