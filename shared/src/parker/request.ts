import { isPublicKey } from "../key.ts";

/**
 * The node's request, `GET /config?pubkey=…&nonce=…&v6mtu=…&version=…[&tc_ingress=…&tc_egress=…]`
 * (parker-facts §1.1). The client escapes only "+" (as %2B) and sends "/" and "=" raw, so a
 * "+" that arrives as a space (form decoding) is turned back into "+". `version` and the
 * `tc_*` limits are accepted and ignored, as both reference servers do.
 */
export interface ParkerRequest {
  readonly publicKey: string;
  readonly nonce: string;
  readonly v6mtu: number;
}

export type ParkerRequestParse =
  | { readonly ok: true; readonly request: ParkerRequest }
  | { readonly ok: false; readonly field: "pubkey" | "nonce" | "v6mtu"; readonly reason: string };

/** wgkex's default when a node does not send its WAN MTU (the IPv6 minimum). */
export const DEFAULT_V6MTU = 1280;
export const MAX_NONCE_LENGTH = 128;
const NONCE_PATTERN = /^[\x20-\x7e]+$/;

export function parseParkerQuery(params: URLSearchParams): ParkerRequestParse {
  const publicKey = (params.get("pubkey") ?? "").replaceAll(" ", "+");
  if (!isPublicKey(publicKey)) {
    return { ok: false, field: "pubkey", reason: "must be a WireGuard public key (44 characters of base64)" };
  }
  const nonce = params.get("nonce") ?? "";
  // An empty nonce would make the answer replayable; FFBS refuses it too. The clients send
  // 32 hex characters; anything printable is echoed verbatim.
  if (nonce.length === 0 || nonce.length > MAX_NONCE_LENGTH || !NONCE_PATTERN.test(nonce)) {
    return { ok: false, field: "nonce", reason: `must be 1-${MAX_NONCE_LENGTH} printable ASCII characters` };
  }
  const raw = params.get("v6mtu");
  let v6mtu = DEFAULT_V6MTU;
  if (raw !== null) {
    // Empty or non-numeric is a 400 in both reference servers (the upstream client sends
    // an empty value when br-wan is missing, and retries).
    if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) {
      return { ok: false, field: "v6mtu", reason: "must be the WAN's IPv6 MTU, a number from 0 to 65535" };
    }
    v6mtu = Number(raw);
  }
  return { ok: true, request: { publicKey, nonce, v6mtu } };
}
