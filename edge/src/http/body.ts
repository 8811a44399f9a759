/** The body was larger than the configured limit; nothing of it is kept. */
export class BodyTooLargeError extends Error {
  override name = "BodyTooLargeError";
}

/**
 * Reads the body as text, whatever the Content-Type claims (the Gluon client posts JSON as
 * application/x-www-form-urlencoded), refusing more than `limit` bytes without buffering
 * them: a declared Content-Length is checked first, then the stream is counted.
 */
export async function readBodyText(request: Request, limit: number): Promise<string> {
  const declared = request.headers.get("Content-Length");
  if (declared !== null && Number(declared) > limit) throw new BodyTooLargeError();
  if (request.body === null) return "";
  // The runtime enforces a declared length, so the body can be taken whole.
  if (declared !== null && /^\d+$/.test(declared)) return request.text();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new BodyTooLargeError();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
