import {
  type AnswerFormat,
  encodeNodeConfig,
  encodeRetry,
  type ParkerSigner,
  signedBody,
} from "@wgkex-edge/shared/parker";
import type { ParkerDecision } from "./parker-service.ts";

/**
 * Parker's HTTP answers. Success and every "come back later" are `200 text/plain`, signed:
 * a router that gets anything else retries in 20 s (2 s for FFMUC) without reading the
 * body, so errors are only for requests no router sends (bad parameters) and for a broken
 * edge. Their bodies are wgkex parker's (Flask: compact JSON + "\n", wgkexError), for
 * operators with curl.
 */
export const PARKER_INVALID = "Invalid data received. Please check your request and try again.";
export const PARKER_SIGNATURE_ERROR = "Internal signature error. Please try again later.";

/** The signed body of a decision, in the configured byte format. */
export function decisionJson(decision: ParkerDecision, format: AnswerFormat): string {
  return decision.kind === "config"
    ? encodeNodeConfig(decision.answer, format)
    : encodeRetry({ nonce: decision.nonce, time: decision.time, retry: decision.retry }, format);
}

export async function parkerResponse(
  decision: ParkerDecision,
  format: AnswerFormat,
  signer: Pick<ParkerSigner, "sign">,
): Promise<Response> {
  const body = await signedBody(decisionJson(decision, format), signer);
  return new Response(body, {
    status: 200,
    headers: { "Content-Type": "text/plain", "Cache-Control": "no-store" },
  });
}
