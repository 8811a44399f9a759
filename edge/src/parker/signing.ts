import { createParkerSigner, type ParkerSigner, SigningKeyError } from "@wgkex-edge/shared/parker";
import type { ParkerConfig } from "../config/parker.ts";

/**
 * The isolate's signer, built and checked once per distinct (secret, pinned key, expiry):
 * the first Parker request of an isolate is a Worker's start-up. A refused key is
 * remembered with its message, so it is logged once per isolate and never re-imported;
 * the message never contains key material.
 */
let cached: { id: string; signer: Promise<ParkerSigner> } | undefined;

export function parkerSigner(
  secret: string | undefined,
  parker: ParkerConfig,
  now = Date.now(),
): Promise<ParkerSigner> {
  const notAfter = parker.key_not_after === undefined ? undefined : Date.parse(parker.key_not_after);
  // The secret itself is part of the identity only through equality, never stored twice.
  const id = `${parker.public_key}|${notAfter ?? ""}|${secret ?? ""}`;
  if (cached?.id !== id) {
    const signer = createParkerSigner(secret ?? "", { publicKey: parker.public_key, notAfter, now });
    signer.catch((error: unknown) => {
      const msg = error instanceof SigningKeyError ? error.message : `signer failed: ${String(error)}`;
      console.error(JSON.stringify({ level: "error", msg: `Parker signing key refused: ${msg}` }));
    });
    cached = { id, signer };
  }
  const { signer } = cached;
  return signer.then((s) => {
    // Expiry is checked on every use too: an isolate may outlive the key's last day.
    if (s.notAfter !== undefined && now >= s.notAfter) {
      cached = undefined;
      return parkerSigner(secret, parker, now);
    }
    return s;
  });
}
