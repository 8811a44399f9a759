/**
 * Responses exactly as wgkex (Flask 3.1 / Werkzeug 3.1) sends them to routers, byte for byte.
 * The recorded originals and how they were obtained: edge/test/fixtures/wgkex/.
 */
export const INTERNAL_ERROR = "An internal error has occurred. Please try again later.";
export const NO_GATEWAY = "no gateway online for this domain, please check the domain value and try again later";
export const NO_GATEWAY_DATA = "could not get gateway data";
export const PARKER_DISABLED = "Parker support is not enabled on this broker";

const HTML = "text/html; charset=utf-8";

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/**
 * Python's `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=True)`: compact,
 * sorted keys, and every character outside printable ASCII as a lowercase `\uXXXX` escape.
 */
export const compactSortedJson = (value: unknown): string =>
  JSON.stringify(sortKeys(value)).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );

/** Flask's `jsonify` (and a dict returned from a view): the JSON text plus one newline. */
export function wgkexJson(value: unknown, status = 200, headers?: Record<string, string>): Response {
  return new Response(`${compactSortedJson(value)}\n`, {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

export const wgkexError = (message: string, status: number, headers?: Record<string, string>): Response =>
  wgkexJson({ error: { message } }, status, headers);

/** Werkzeug's HTML error page (`HTTPException.get_body`). */
function werkzeugPage(code: number, name: string, description: string, headers?: Record<string, string>): Response {
  const body = `<!doctype html>\n<html lang=en>\n<title>${code} ${name}</title>\n<h1>${name}</h1>\n<p>${description}</p>\n`;
  return new Response(body, { status: code, headers: { "Content-Type": HTML, ...headers } });
}

/** The methods Flask allows on a POST-only route and on a GET route, as `Allow` lists them. */
export const ALLOW_POST = "OPTIONS, POST";
export const ALLOW_GET = "GET, HEAD, OPTIONS";

/** Werkzeug's 405 page, with its Allow header. */
export const methodNotAllowed = (allow: string): Response =>
  werkzeugPage(405, "Method Not Allowed", "The method is not allowed for the requested URL.", { Allow: allow });

/** Flask's automatic OPTIONS answer: 200, empty, with Allow. */
export const flaskOptions = (allow: string): Response =>
  new Response("", { status: 200, headers: { "Content-Type": HTML, Allow: allow } });

/** Werkzeug's 404 page. */
export const notFound = (): Response =>
  werkzeugPage(
    404,
    "Not Found",
    "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.",
  );

/** Werkzeug's 500 page: what wgkex answers when a view raises. */
export const internalServerError = (): Response =>
  werkzeugPage(
    500,
    "Internal Server Error",
    "The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.",
  );

/** wgkex's `templates/index.html`, as Jinja renders it (no trailing newline). */
export const WGKEX_INDEX = "<html>\n<head>\n<title>wgkex</title>\n</head>\n<body>\n<h1>WGKEX</h1>\n</body>\n</html>";

export const wgkexIndex = (): Response => new Response(WGKEX_INDEX, { status: 200, headers: { "Content-Type": HTML } });
