import { sha512 } from "@noble/hashes/sha2.js";
import { bytesEqual, concatBytes, fromBase64, fromHex, toBase64 } from "./bytes.ts";

/**
 * The signify/usign key and signature formats (openwrt/usign main.c):
 *   public key  "Ed" ‖ keynum(8) ‖ ed25519 public key(32)                          42 bytes
 *   secret key  "Ed" ‖ "BK" ‖ kdfrounds(4, BE) ‖ salt(16) ‖ checksum(8) ‖ keynum(8)
 *               ‖ seed(32) ‖ public key(32)                                        104 bytes
 *   signature   "Ed" ‖ keynum(8) ‖ ed25519 signature(64)                           74 bytes
 * The checksum is the first 8 bytes of sha512(seed ‖ public key).
 */
export const PUBLIC_KEY_BYTES = 42;
export const SECRET_KEY_BYTES = 104;
export const SIGNATURE_BYTES = 74;
export const KEYNUM_BYTES = 8;

const ED = new Uint8Array([0x45, 0x64]); // "Ed"
const BK = new Uint8Array([0x42, 0x4b]); // "BK"

/** A signing key problem: the message says what is wrong and how to fix it, never the key. */
export class SigningKeyError extends Error {
  override name = "SigningKeyError";
}

export interface SignifyPublicKey {
  readonly keynum: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** A secret key as found in a signify/usign secret key file, or a bare seed. */
export type SigningSecret =
  | {
      readonly kind: "signify";
      readonly kdfrounds: number;
      readonly checksum: Uint8Array;
      readonly keynum: Uint8Array;
      readonly seed: Uint8Array;
      readonly publicKey: Uint8Array;
    }
  | { readonly kind: "seed"; readonly seed: Uint8Array };

/** The base64 line of a key file: the text itself, or the line after "untrusted comment:". */
function keyLine(text: string): string {
  const lines = text
    .trim()
    .split(/\r?\n/)
    .map((l) => l.trim());
  if (lines.length === 2 && lines[0]!.startsWith("untrusted comment:")) return lines[1]!;
  return lines.length === 1 ? lines[0]! : "";
}

const startsWith = (bytes: Uint8Array, prefix: Uint8Array, at = 0): boolean =>
  bytesEqual(bytes.subarray(at, at + prefix.length), prefix);

/**
 * A signify public key: what Gluon sites configure as `parker.config_pubkey` (the base64
 * line), or a whole `.pub` file.
 */
export function parseSignifyPublicKey(text: string): SignifyPublicKey {
  const bytes = fromBase64(keyLine(text));
  if (bytes === undefined || bytes.length !== PUBLIC_KEY_BYTES || !startsWith(bytes, ED)) {
    throw new SigningKeyError(
      "not a signify public key: expected the base64 line of a signify/usign .pub file (56 characters starting with 'RWQ' or 'RWR'), as in the site's parker.config_pubkey",
    );
  }
  return { keynum: bytes.slice(2, 10), publicKey: bytes.slice(10, 42) };
}

export function encodeSignifyPublicKey(key: SignifyPublicKey): string {
  return toBase64(concatBytes(ED, key.keynum, key.publicKey));
}

/**
 * The secret the edge signs with, in any form wgkex's `broker_signing_key` accepts: a
 * signify/usign secret key (file, base64 line, or hex of its 104 bytes) or a raw 32-byte
 * Ed25519 seed (hex or base64). Format only: `createParkerSigner` checks that it is usable.
 */
export function parseSigningSecret(text: string): SigningSecret {
  const line = keyLine(text);
  const bytes = fromHex(line) ?? fromBase64(line);
  if (bytes?.length === 32) return { kind: "seed", seed: bytes };
  if (bytes?.length === SECRET_KEY_BYTES) {
    if (!startsWith(bytes, ED) || !startsWith(bytes, BK, 2)) {
      throw new SigningKeyError(
        "the signing key has 104 bytes but is not an Ed25519 signify secret key (it must start with 'Ed' 'BK'); generate one with `usign -G` or `signify -G -n`",
      );
    }
    return {
      kind: "signify",
      kdfrounds: new DataView(bytes.buffer, bytes.byteOffset).getUint32(4),
      checksum: bytes.slice(24, 32),
      keynum: bytes.slice(32, 40),
      seed: bytes.slice(40, 72),
      publicKey: bytes.slice(72, 104),
    };
  }
  throw new SigningKeyError(
    "the signing key is neither a signify/usign secret key (104 bytes: the base64 line of a .sec file, or its hex) nor a raw Ed25519 seed (32 bytes, hex or base64)",
  );
}

/** The checksum signify stores: sha512(seed ‖ public key), first 8 bytes. */
export const signifyChecksum = (seed: Uint8Array, publicKey: Uint8Array): Uint8Array =>
  sha512(concatBytes(seed, publicKey)).slice(0, 8);

/** A passphrase-less signify secret key file line (kdfrounds 0, zero salt). */
export function encodeSignifySecretKey(keynum: Uint8Array, seed: Uint8Array, publicKey: Uint8Array): string {
  return toBase64(
    concatBytes(
      ED,
      BK,
      new Uint8Array(4),
      new Uint8Array(16),
      signifyChecksum(seed, publicKey),
      keynum,
      seed,
      publicKey,
    ),
  );
}

/** The signature line usign verifies: base64("Ed" ‖ keynum ‖ sig). Never the raw 64 bytes. */
export function encodeSignature(keynum: Uint8Array, signature: Uint8Array): string {
  return toBase64(concatBytes(ED, keynum, signature));
}
