import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isPublicKey, normalizeNodeKey, PUBLIC_KEY_PATTERN, publicKeySchema } from "../src/index.ts";
import { arbitraryKeyBytes, arbitraryPublicKey, toBase64 } from "./arbitraries.ts";
import vectors from "./fixtures/vectors.json" with { type: "json" };

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

describe("public key rule (wgkex-facts §1)", () => {
  it("accepts the vector keys", () => {
    for (const v of vectors.lladdr) expect(isPublicKey(v.public_key)).toBe(true);
  });

  it("accepts every canonical base64 encoding of 32 bytes", () => {
    fc.assert(
      fc.property(arbitraryPublicKey, (key) => {
        expect(isPublicKey(key)).toBe(true);
        expect(publicKeySchema.safeParse(key).success).toBe(true);
        expect(normalizeNodeKey(key)).toBe(key);
      }),
      { numRuns: 500 },
    );
  });

  it("rejects any single-character substitution that leaves the canonical set", () => {
    fc.assert(
      fc.property(arbitraryKeyBytes, fc.nat(43), fc.string({ minLength: 1, maxLength: 1 }), (bytes, pos, ch) => {
        const key = toBase64(bytes);
        const mutated = key.slice(0, pos) + ch + key.slice(pos + 1);
        // A substitution is still a key only if it is itself a canonical encoding of 32 bytes.
        const stillCanonical = (() => {
          try {
            const decoded = Uint8Array.from(atob(mutated), (c) => c.charCodeAt(0));
            return decoded.length === 32 && toBase64(decoded) === mutated;
          } catch {
            return false;
          }
        })();
        expect(isPublicKey(mutated)).toBe(stillCanonical);
      }),
      { numRuns: 2000 },
    );
  });

  it("rejects non-canonical final digits (spare bits set)", () => {
    const key = toBase64(new Uint8Array(32));
    for (const ch of BASE64) {
      const candidate = `${key.slice(0, 42)}${ch}=`;
      expect(isPublicKey(candidate)).toBe("AEIMQUYcgkosw480".includes(ch));
    }
  });

  it("rejects truncation, extension, padding changes and surrounding whitespace", () => {
    fc.assert(
      fc.property(arbitraryPublicKey, fc.constantFrom(" ", "\t", "\r", "\n", "=", "A", "\u00e9"), (key, extra) => {
        expect(isPublicKey(key.slice(0, -1))).toBe(false);
        expect(isPublicKey(key.slice(1))).toBe(false);
        expect(isPublicKey(key + extra)).toBe(false);
        expect(isPublicKey(extra + key)).toBe(false);
        expect(isPublicKey(`${key.slice(0, 43)}`)).toBe(false);
      }),
    );
  });

  it("rejects url-safe base64 and non-strings", () => {
    expect(isPublicKey(`${"-".repeat(42)}A=`)).toBe(false);
    expect(isPublicKey(`${"_".repeat(42)}A=`)).toBe(false);
    for (const v of [null, undefined, 42, {}, [], true]) expect(isPublicKey(v)).toBe(false);
  });

  it("keeps the exact wgkex regular expression", () => {
    expect(PUBLIC_KEY_PATTERN.source).toBe("^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$");
  });

  it("accepts exactly one trailing newline from nodes, like wgkex, and strips it", () => {
    const key = vectors.lladdr[0]!.public_key;
    expect(normalizeNodeKey(`${key}\n`)).toBe(key);
    expect(normalizeNodeKey(`${key}\n\n`)).toBeUndefined();
    expect(normalizeNodeKey(`${key}\r\n`)).toBeUndefined();
    expect(normalizeNodeKey(` ${key}`)).toBeUndefined();
    // The strict form used everywhere past the node API refuses it.
    expect(isPublicKey(`${key}\n`)).toBe(false);
    expect(publicKeySchema.safeParse(`${key}\n`).success).toBe(false);
  });

  it("explains a bad key in the schema error", () => {
    const result = publicKeySchema.safeParse("nope");
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/44 characters of canonical base64/);
  });
});
