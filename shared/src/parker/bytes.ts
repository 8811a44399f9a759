/**
 * Byte helpers for the Parker signature formats. They run unchanged in workerd and Node
 * (both have atob/btoa), so the same code produces the same bytes on both sides.
 */
/** Bytes in a plain ArrayBuffer: what WebCrypto accepts. */
export type Bytes = Uint8Array<ArrayBuffer>;

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Canonical, padded, standard-alphabet base64 only; undefined for anything else. */
export function fromBase64(text: string): Bytes | undefined {
  if (!STRICT_BASE64.test(text)) return undefined;
  const binary = atob(text);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  // Reject non-zero padding bits: another text for the same bytes is not the same key.
  return toBase64(bytes) === text ? bytes : undefined;
}

export function fromHex(text: string): Bytes | undefined {
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(text)) return undefined;
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const isSpace = (c: string): boolean => c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r";

/**
 * usign's `b64_decode` (OpenBSD `b64_pton`) into a buffer of exactly `size` bytes, as the
 * router runs it: whitespace anywhere is skipped, padding rules are strict, and anything
 * that does not decode to exactly `size` bytes fails. A parser less strict than the
 * router's would let the tests pass answers that real nodes reject.
 */
export function usignBase64Decode(text: string, size: number): Bytes | undefined {
  const target = new Uint8Array(size);
  let index = 0;
  let state = 0;
  let i = 0;
  let ch = "";
  for (; i < text.length; i++) {
    ch = text[i]!;
    if (isSpace(ch)) continue;
    if (ch === "=") break;
    const value = ALPHABET.indexOf(ch);
    if (value < 0) return undefined;
    if (index >= size) return undefined;
    switch (state) {
      case 0:
        target[index] = value << 2;
        state = 1;
        break;
      case 1: {
        target[index]! |= value >> 4;
        const next = (value & 0x0f) << 4;
        if (index + 1 < size) target[index + 1] = next;
        else if (next) return undefined;
        index++;
        state = 2;
        break;
      }
      case 2: {
        target[index]! |= value >> 2;
        const next = (value & 0x03) << 6;
        if (index + 1 < size) target[index + 1] = next;
        else if (next) return undefined;
        index++;
        state = 3;
        break;
      }
      default:
        target[index]! |= value;
        index++;
        state = 0;
    }
  }
  if (i < text.length && ch === "=") {
    if (state === 0 || state === 1) return undefined;
    i++;
    if (state === 2) {
      while (i < text.length && isSpace(text[i]!)) i++;
      if (text[i] !== "=") return undefined;
      i++;
    }
    for (; i < text.length; i++) if (!isSpace(text[i]!)) return undefined;
    if (index < size && target[index] !== 0) return undefined;
  } else if (state !== 0) {
    return undefined;
  }
  return index === size ? target : undefined;
}
