import { md5 } from "@noble/hashes/legacy.js";

// One pure implementation for workerd and Node alike: the platforms' own MD5 differs
// (workerd's is async and non-standard, Node's is native), and the addresses must agree
// byte for byte on both sides, so both run this code path and both are tested.
const encoder = new TextEncoder();

export function md5Bytes(text: string): Uint8Array {
  return md5(encoder.encode(text));
}

export function md5Hex(text: string): string {
  let out = "";
  for (const byte of md5Bytes(text)) out += byte.toString(16).padStart(2, "0");
  return out;
}
