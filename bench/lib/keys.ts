import { createHash } from "node:crypto";

/**
 * Deterministic WireGuard-shaped public keys: sha256(label/i) as canonical base64 (32 bytes,
 * so always a valid key). The same label gives the same set in every run.
 */
export function benchKey(label: string, i: number): string {
  return createHash("sha256").update(`${label}/${i}`).digest("base64");
}

export function keySet(label: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => benchKey(label, i));
}

/** The Gluon client's exact body text (busybox wget, form content type). */
export const exchangeBody = (domain: string, key: string): string => `{"domain": "${domain}","public_key": "${key}"}`;
