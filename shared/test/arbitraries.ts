import fc from "fast-check";

/** Standard base64 of 32 bytes: exactly what `wg pubkey` prints. */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export const arbitraryKeyBytes = fc.uint8Array({ minLength: 32, maxLength: 32 });
export const arbitraryPublicKey = arbitraryKeyBytes.map(toBase64);
