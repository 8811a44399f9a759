import { type Bytes, usignBase64Decode } from "./bytes.ts";
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from "./signify.ts";

/**
 * `usign -V -m <message> -p <pubkey file> -x <sig file>` as the router runs it
 * (openwrt/usign main.c): the first line of each file is skipped whatever it says, the rest
 * must base64-decode to exactly the struct size and start with "Ed". With -p the key
 * numbers are NOT compared (a wrong keynum still verifies on a router; signify would
 * refuse it, which is why the edge keeps them equal anyway).
 */
export type UsignResult = { ok: true } | { ok: false; reason: string };

/** usign's get_file: everything after the first newline. No newline: "Premature end of file". */
function afterFirstLine(file: string): string | undefined {
  const newline = file.indexOf("\n");
  return newline < 0 ? undefined : file.slice(newline + 1);
}

const ED = (bytes: Uint8Array): boolean => bytes[0] === 0x45 && bytes[1] === 0x64;

export async function usignVerify(message: Bytes, sigFile: string, pubkeyFile: string): Promise<UsignResult> {
  const sigText = afterFirstLine(sigFile);
  if (sigText === undefined) return { ok: false, reason: "Premature end of file" };
  const sig = usignBase64Decode(sigText, SIGNATURE_BYTES);
  if (sig === undefined || !ED(sig)) return { ok: false, reason: "Failed to decode signature" };
  const pubText = afterFirstLine(pubkeyFile);
  if (pubText === undefined) return { ok: false, reason: "Premature end of file" };
  const pub = usignBase64Decode(pubText, PUBLIC_KEY_BYTES);
  if (pub === undefined || !ED(pub)) return { ok: false, reason: "Failed to decode public key" };
  const key = await crypto.subtle.importKey("raw", pub.slice(10), { name: "Ed25519" }, false, ["verify"]);
  const valid = await crypto.subtle.verify({ name: "Ed25519" }, key, sig.slice(10), message);
  return valid ? { ok: true } : { ok: false, reason: "verification failed" };
}
