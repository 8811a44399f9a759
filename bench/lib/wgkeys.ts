import { createHash, createPrivateKey, createPublicKey } from "node:crypto";

/** A deterministic X25519 key pair (WireGuard format) derived from a label. */
export function keyPairFor(label: string): { privateKey: string; publicKey: string } {
  const seed = createHash("sha256").update(`wg/${label}`).digest();
  seed[0]! &= 248;
  seed[31]! &= 127;
  seed[31]! |= 64;
  const d = seed.toString("base64url");
  const priv = createPrivateKey({ key: { kty: "OKP", crv: "X25519", d, x: "" }, format: "jwk" });
  const x = createPublicKey(priv).export({ format: "jwk" }).x!;
  return { privateKey: seed.toString("base64"), publicKey: Buffer.from(x, "base64url").toString("base64") };
}
