/**
 * Responses exactly as wgkex (Flask) sends them to routers: compact JSON with sorted keys,
 * `Content-Type: application/json` (wgkex-facts §1).
 */
export const INTERNAL_ERROR = "An internal error has occurred. Please try again later.";
export const NO_GATEWAY = "no gateway online for this domain, please check the domain value and try again later";
export const NO_GATEWAY_DATA = "could not get gateway data";

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** Compact, sorted-key JSON text (Python's `json.dumps(sort_keys=True, separators=(",", ":"))`). */
export const compactSortedJson = (value: unknown): string => JSON.stringify(sortKeys(value));

export function wgkexJson(value: unknown, status = 200, headers?: Record<string, string>): Response {
  return new Response(compactSortedJson(value), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

export const wgkexError = (message: string, status: number, headers?: Record<string, string>): Response =>
  wgkexJson({ error: { message } }, status, headers);

/** Werkzeug's 405 page, with its Allow header, for a POST-only route. */
export function methodNotAllowed(): Response {
  return new Response(
    "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n",
    { status: 405, headers: { "Content-Type": "text/html; charset=utf-8", Allow: "OPTIONS, POST" } },
  );
}

/** Werkzeug's 404 page. */
export function notFound(): Response {
  return new Response(
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n",
    { status: 404, headers: { "Content-Type": "text/html; charset=utf-8" } },
  );
}
