import { type Bytes, bytesEqual, concatBytes, fromBase64 } from "./bytes.ts";
import {
  encodeSignature,
  encodeSignifyPublicKey,
  encodeSignifySecretKey,
  parseSignifyPublicKey,
  parseSigningSecret,
  SigningKeyError,
  signifyChecksum,
} from "./signify.ts";

/**
 * Ed25519 through WebCrypto: workerd and Node (>= 20) both implement it natively and give
 * the identical deterministic bytes (parker-facts §5), so the edge needs no pure-JS curve.
 * A raw seed is imported by wrapping it in the fixed PKCS#8 prefix of an Ed25519 key.
 */
const PKCS8_ED25519_PREFIX = new Uint8Array([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
const ED25519 = { name: "Ed25519" } as const;
const encoder = new TextEncoder();

async function importSeed(seed: Uint8Array) {
  const key = await crypto.subtle.importKey("pkcs8", concatBytes(PKCS8_ED25519_PREFIX, seed), ED25519, true, ["sign"]);
  // The JWK of a private OKP key carries its public half; this is how the seed's public
  // key is derived without a second curve implementation.
  const jwk = (await crypto.subtle.exportKey("jwk", key)) as { x?: string };
  const publicKey = jwk.x === undefined ? undefined : fromBase64(base64UrlToStd(jwk.x));
  if (publicKey?.length !== 32) throw new SigningKeyError("the runtime could not derive the Ed25519 public key");
  return { key, publicKey };
}

function base64UrlToStd(text: string): string {
  const std = text.replaceAll("-", "+").replaceAll("_", "/");
  return std + "=".repeat((4 - (std.length % 4)) % 4);
}

export interface ParkerSignerOptions {
  /**
   * The signify public key the routers pin (site.conf `parker.config_pubkey`). The secret
   * must belong to it: a node verifies with this key and nothing else.
   */
  readonly publicKey: string;
  /** Milliseconds since the epoch after which the key must no longer sign. */
  readonly notAfter?: number | undefined;
  readonly now?: number | undefined;
}

export interface ParkerSigner {
  /** The signify public key (base64 line), equal to the configured one. */
  readonly publicKey: string;
  readonly keynum: Uint8Array;
  readonly notAfter: number | undefined;
  /** The usign signature line over exactly these bytes. */
  sign(message: string | Bytes): Promise<string>;
}

/**
 * Check the signing secret against the public key routers pin and build the signer. Every
 * refusal is a SigningKeyError whose message names the problem and the fix; none of them
 * contains key material, so the message may be logged.
 */
export async function createParkerSigner(secretText: string, options: ParkerSignerOptions): Promise<ParkerSigner> {
  if (secretText.trim() === "") {
    throw new SigningKeyError(
      "PARKER_SIGNING_KEY is empty: set it with `wrangler secret put PARKER_SIGNING_KEY` (see docs/parker.md)",
    );
  }
  const pinned = parseSignifyPublicKey(options.publicKey);
  const now = options.now ?? Date.now();
  if (options.notAfter !== undefined && now >= options.notAfter) {
    throw new SigningKeyError(
      `the Parker signing key expired at ${new Date(options.notAfter).toISOString()} (parker.key_not_after): roll out firmware with a new config_pubkey, then configure the new key and its public_key`,
    );
  }
  const secret = parseSigningSecret(secretText);
  const { key, publicKey } = await importSeed(secret.seed);
  if (secret.kind === "signify") {
    if (secret.kdfrounds !== 0) {
      throw new SigningKeyError(
        `the signify secret key is passphrase-protected (kdfrounds ${secret.kdfrounds}); routers cannot use a key we cannot unlock. Generate one without a passphrase (\`signify -G -n\` or \`usign -G\`)`,
      );
    }
    if (
      !bytesEqual(secret.publicKey, publicKey) ||
      !bytesEqual(secret.checksum, signifyChecksum(secret.seed, publicKey))
    ) {
      throw new SigningKeyError(
        "the signify secret key is corrupt: its checksum or public half does not match its seed",
      );
    }
    if (!bytesEqual(secret.keynum, pinned.keynum)) {
      throw new SigningKeyError(
        "the signify secret key's key number differs from parker.public_key's: it is not the key the routers pin (compare `usign -F -s key.sec` with `usign -F -p key.pub`)",
      );
    }
  }
  if (!bytesEqual(publicKey, pinned.publicKey)) {
    throw new SigningKeyError(
      "PARKER_SIGNING_KEY does not belong to parker.public_key: routers would reject every answer. Configure the public key printed by `npm run parker-key -- check`, or the right secret",
    );
  }
  const keynum = pinned.keynum;
  return {
    publicKey: encodeSignifyPublicKey(pinned),
    keynum,
    notAfter: options.notAfter,
    async sign(message) {
      const bytes = typeof message === "string" ? encoder.encode(message) : message;
      const signature = new Uint8Array(await crypto.subtle.sign(ED25519, key, bytes));
      return encodeSignature(keynum, signature);
    },
  };
}

/** A new signify key pair (passphrase-less), for `npm run parker-key -- generate` and tests. */
export async function generateSignifyKeyPair(
  seed: Uint8Array = crypto.getRandomValues(new Uint8Array(32)),
  keynum: Uint8Array = crypto.getRandomValues(new Uint8Array(8)),
): Promise<{ secretKey: string; publicKey: string }> {
  const { publicKey } = await importSeed(seed);
  return {
    secretKey: encodeSignifySecretKey(keynum, seed, publicKey),
    publicKey: encodeSignifyPublicKey({ keynum, publicKey }),
  };
}

/** The signify public key of a signing secret, given the key number to use for a raw seed. */
export async function publicKeyOfSecret(secretText: string, keynum?: Uint8Array): Promise<string> {
  const secret = parseSigningSecret(secretText);
  const { publicKey } = await importSeed(secret.seed);
  const num = secret.kind === "signify" ? secret.keynum : keynum;
  if (num === undefined)
    throw new SigningKeyError("a raw seed has no key number: give one (8 bytes) to derive a signify public key");
  return encodeSignifyPublicKey({ keynum: num, publicKey });
}
