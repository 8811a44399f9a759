import { createPrivateKey, createPublicKey } from "node:crypto";

/** The WireGuard (X25519) public key of a base64 private key, as `wg pubkey` prints it. */
export function publicKeyFromPrivate(privateKey: string): string {
  const raw = Buffer.from(privateKey.trim(), "base64");
  if (raw.length !== 32 || raw.toString("base64") !== privateKey.trim()) {
    throw new Error("not a WireGuard private key (44 characters of base64, as `wg genkey` prints)");
  }
  // PKCS#8 wrapper of a raw X25519 private key (RFC 8410).
  const der = Buffer.concat([Buffer.from("302e020100300506032b656e04220420", "hex"), raw]);
  const key = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  const jwk = createPublicKey(key).export({ format: "jwk" });
  return Buffer.from(String(jwk.x), "base64url").toString("base64");
}
