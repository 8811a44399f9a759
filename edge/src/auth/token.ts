const encoder = new TextEncoder();

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", encoder.encode(text));
}

/**
 * Constant-time comparison of a presented token with the expected one. Both are hashed
 * first so the comparison takes the same time whatever their lengths; an absent expected
 * token still costs the same work and never matches.
 */
export async function tokenMatches(presented: string | undefined, expected: string | undefined): Promise<boolean> {
  const [a, b] = await Promise.all([digest(presented ?? ""), digest(expected ?? "\u0000absent")]);
  const same = crypto.subtle.timingSafeEqual(a, b);
  return same && presented !== undefined && expected !== undefined && expected.length > 0;
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** GATEWAY_TOKENS is a JSON object `{ "<gateway>": "<token>" }`, set as a secret. */
export function gatewayToken(secret: string | undefined, gateway: string): string | undefined {
  if (!secret) return undefined;
  try {
    const tokens = JSON.parse(secret) as unknown;
    if (tokens === null || typeof tokens !== "object") return undefined;
    const token = (tokens as Record<string, unknown>)[gateway];
    return typeof token === "string" && Object.hasOwn(tokens, gateway) ? token : undefined;
  } catch {
    return undefined;
  }
}
