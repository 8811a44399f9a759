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

/**
 * How to get a domain's private key file. On a gateway that already runs the domain's
 * WireGuard interface (a wgkex gateway being migrated) the key exists: a new one would give
 * the gateway another public key and break every router's tunnel, so copy it. Only a new
 * gateway generates one. `interfaceExists` undefined = cannot tell (another namespace).
 */
export function privateKeyAdvice(keyFile: string, wireguard: string, interfaceExists: boolean | undefined): string {
  const copy = `copy the gateway's existing key: \`umask 077; wg show ${wireguard} private-key > ${keyFile}\` (or the PrivateKeyFile= of its systemd-networkd .netdev)`;
  const fresh = `\`umask 077; wg genkey > ${keyFile}\``;
  if (interfaceExists === true) {
    return `${wireguard} exists: ${copy}; a new key would change this gateway's public key and break every router's tunnel`;
  }
  if (interfaceExists === false)
    return `on a new gateway create it: ${fresh}; when migrating a running gateway, ${copy}`;
  return `migrating a running gateway: ${copy}; a new gateway: ${fresh}`;
}
