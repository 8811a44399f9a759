import { describe, expect, it } from "vitest";
import {
  createParkerSigner,
  encodeSignifySecretKey,
  fromBase64,
  fromHex,
  generateSignifyKeyPair,
  parseSignifyPublicKey,
  parseSigningSecret,
  publicKeyOfSecret,
  SigningKeyError,
  toBase64,
  toHex,
} from "../src/parker/index.ts";
import vectors from "../testing/parker-vectors.json" with { type: "json" };

const { key, ok_message: ok } = vectors;
const keynum = new TextEncoder().encode(key.keynum);
const seed = fromHex(key.seed_hex)!;
const rawSeedBase64 = toBase64(seed);

/** The secret with some bytes replaced, re-encoded: a structurally valid but wrong key. */
function patchedSecret(offset: number, bytes: number[]): string {
  const raw = fromBase64(key.signify_secret_key)!;
  raw.set(bytes, offset);
  return toBase64(raw);
}

async function refusal(secret: string, options: Parameters<typeof createParkerSigner>[1]): Promise<string> {
  try {
    await createParkerSigner(secret, options);
  } catch (error) {
    expect(error).toBeInstanceOf(SigningKeyError);
    const message = (error as Error).message;
    // Never the key material, in any of its spellings.
    for (const secretText of [key.signify_secret_key, key.seed_hex, rawSeedBase64, secret]) {
      if (secretText.length >= 16) expect(message).not.toContain(secretText);
    }
    return message;
  }
  throw new Error("the signer was created, but it should have been refused");
}

describe("signify key formats (parker-facts §5)", () => {
  it("reads the vector's secret key: kdfrounds 0, keynum, seed, public half, checksum", async () => {
    const secret = parseSigningSecret(key.signify_secret_key);
    expect(secret.kind).toBe("signify");
    if (secret.kind !== "signify") return;
    expect(secret.kdfrounds).toBe(0);
    expect(new TextDecoder().decode(secret.keynum)).toBe("12345678");
    expect(toHex(secret.seed)).toBe(key.seed_hex);
    expect(toBase64(secret.publicKey)).toBe(key.raw_public_key);
    expect(encodeSignifySecretKey(keynum, seed, secret.publicKey)).toBe(key.signify_secret_key);
  });

  it("accepts the secret as a key file, as hex, and a raw seed as hex or base64", async () => {
    const file = `untrusted comment: signify secret key\n${key.signify_secret_key}\n`;
    expect(parseSigningSecret(file).kind).toBe("signify");
    expect(parseSigningSecret(toHex(fromBase64(key.signify_secret_key)!)).kind).toBe("signify");
    expect(parseSigningSecret(key.seed_hex)).toEqual({ kind: "seed", seed });
    expect(parseSigningSecret(rawSeedBase64)).toEqual({ kind: "seed", seed });
  });

  it("derives the signify public key routers pin, from the secret or from a seed and keynum", async () => {
    expect(await publicKeyOfSecret(key.signify_secret_key)).toBe(key.signify_public_key);
    expect(await publicKeyOfSecret(key.seed_hex, keynum)).toBe(key.signify_public_key);
    const pub = parseSignifyPublicKey(key.signify_public_key);
    expect(toBase64(pub.publicKey)).toBe(key.raw_public_key);
    expect(() => parseSignifyPublicKey(key.raw_public_key)).toThrow(SigningKeyError);
    // FF Braunschweig's production key is a well-formed signify key too.
    expect(parseSignifyPublicKey(vectors.ffbs_production_public_key).keynum).toHaveLength(8);
  });

  it("generates key pairs that sign and belong together", async () => {
    const pair = await generateSignifyKeyPair(seed, keynum);
    expect(pair).toEqual({ secretKey: key.signify_secret_key, publicKey: key.signify_public_key });
    const fresh = await generateSignifyKeyPair();
    const signer = await createParkerSigner(fresh.secretKey, { publicKey: fresh.publicKey });
    expect(signer.publicKey).toBe(fresh.publicKey);
  });
});

describe("the signer", () => {
  it.each([
    ["signify secret key", key.signify_secret_key],
    ["raw seed, hex", key.seed_hex],
    ["raw seed, base64", rawSeedBase64],
  ])("signs the vector message with the vector's signature (%s)", async (_, secret) => {
    const signer = await createParkerSigner(secret, { publicKey: key.signify_public_key });
    const line = await signer.sign(ok.message);
    expect(line).toBe(ok.signify_signature);
    // The signify line is "Ed" ‖ keynum ‖ the raw Ed25519 signature.
    expect(toBase64(fromBase64(line)!.slice(10))).toBe(ok.raw_signature);
  });

  it("refuses a key that does not belong to the pinned public key", async () => {
    const other = await generateSignifyKeyPair();
    const message = await refusal(other.secretKey, { publicKey: key.signify_public_key });
    expect(message).toMatch(/key number differs|does not belong/);
    const seedMessage = await refusal("11".repeat(32), { publicKey: key.signify_public_key });
    expect(seedMessage).toMatch(/does not belong to parker.public_key/);
  });

  it("refuses a passphrase-protected key (wgkex signed garbage with one, #276)", async () => {
    const message = await refusal(patchedSecret(4, [0, 0, 0, 42]), { publicKey: key.signify_public_key });
    expect(message).toMatch(/passphrase-protected \(kdfrounds 42\)/);
  });

  it("refuses a corrupt key: bad checksum", async () => {
    const message = await refusal(patchedSecret(24, [1, 2, 3, 4]), { publicKey: key.signify_public_key });
    expect(message).toMatch(/corrupt/);
  });

  it("refuses an expired key, and accepts it before the date", async () => {
    const notAfter = Date.parse("2026-01-01T00:00:00Z");
    const message = await refusal(key.signify_secret_key, {
      publicKey: key.signify_public_key,
      notAfter,
      now: notAfter,
    });
    expect(message).toMatch(/expired at 2026-01-01T00:00:00.000Z/);
    const signer = await createParkerSigner(key.signify_secret_key, {
      publicKey: key.signify_public_key,
      notAfter,
      now: notAfter - 1,
    });
    expect(signer.notAfter).toBe(notAfter);
  });

  it("refuses an empty secret, garbage, and a pinned key that is not a signify key", async () => {
    expect(await refusal("", { publicKey: key.signify_public_key })).toMatch(/empty/);
    expect(await refusal("not a key at all", { publicKey: key.signify_public_key })).toMatch(/neither/);
    expect(await refusal(patchedSecret(0, [0x58, 0x58]), { publicKey: key.signify_public_key })).toMatch(
      /not an Ed25519 signify secret key/,
    );
    expect(await refusal(key.signify_secret_key, { publicKey: key.raw_public_key })).toMatch(
      /not a signify public key/,
    );
  });
});
