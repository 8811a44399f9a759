import type { ParkerSigner } from "./signer.ts";

/**
 * The node configuration answer: one JSON line, "\n", the usign signature line over the
 * JSON *including* that "\n" (parker-facts §1.2, §7.1). Two byte formats, one per
 * reference server, so an operator migrating keeps the very bytes nodes saw:
 *
 * - `wgkex`: Python `json.dumps` (", " and ": ", ensure_ascii), wgkex's field order, the
 *   node's `id` is its public key.
 * - `ffbs`: Go `json.Marshal` (compact), etcd-tools' field order, `id` is the node number.
 *
 * The Lua client reads fields by name, so the order matters only for byte equality.
 */
export type AnswerFormat = "wgkex" | "ffbs";
export const ANSWER_FORMATS = ["wgkex", "ffbs"] as const;

export interface ConcentratorEntry {
  readonly address4: string;
  readonly address6: string;
  readonly endpoint: string;
  readonly pubkey: string;
  /** The node's interface becomes `wg_c<id>`: a stable, unique JSON number. */
  readonly id: number;
}

export interface NodeConfigAnswer {
  readonly nonce: string;
  readonly time: number;
  readonly id: number | string;
  readonly mtu: number;
  readonly concentrators: readonly ConcentratorEntry[];
  readonly range4: string;
  readonly address4: string;
  readonly range6: string;
  readonly address6: string;
  readonly xlat_range6?: string | undefined;
  readonly wg_keepalive: number;
  readonly retry: number;
}

/** "Come back in `retry` seconds, change nothing": no `id`, so the node applies nothing. */
export interface RetryAnswer {
  readonly nonce: string;
  readonly time: number;
  readonly retry: number;
}

type Value = string | number | readonly Entries[];
type Entries = ReadonlyArray<readonly [string, Value | undefined]>;

const hex4 = (code: number): string => `\\u${code.toString(16).padStart(4, "0")}`;
const SHORT: Record<string, string> = { '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** Python's json.dumps(ensure_ascii=True) string. */
function pythonString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (SHORT[ch] !== undefined) out += SHORT[ch];
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (code >= 0x20 && code <= 0x7e) out += ch;
    else if (code > 0xffff) {
      const v = code - 0x10000;
      out += hex4(0xd800 + (v >> 10)) + hex4(0xdc00 + (v & 0x3ff));
    } else out += hex4(code);
  }
  return `${out}"`;
}

/** Go's json.Marshal string (HTML-safe escaping, which Marshal applies by default). */
function goString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (SHORT[ch] !== undefined) out += SHORT[ch];
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (code < 0x20 || ch === "<" || ch === ">" || ch === "&" || code === 0x2028 || code === 0x2029)
      out += hex4(code);
    else out += ch;
  }
  return `${out}"`;
}

const STYLES = {
  wgkex: { item: ", ", colon: ": ", string: pythonString },
  ffbs: { item: ",", colon: ":", string: goString },
} as const;

function encodeValue(value: Value, format: AnswerFormat): string {
  const style = STYLES[format];
  if (typeof value === "string") return style.string(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TypeError(`answer numbers are integers, got ${value}`);
    return String(value);
  }
  return `[${value.map((entries) => encodeObject(entries, format)).join(style.item)}]`;
}

function encodeObject(entries: Entries, format: AnswerFormat): string {
  const style = STYLES[format];
  const parts: string[] = [];
  for (const [key, value] of entries) {
    if (value === undefined) continue;
    parts.push(`${style.string(key)}${style.colon}${encodeValue(value, format)}`);
  }
  return `{${parts.join(style.item)}}`;
}

/** Field order per format: wgkex parker's dataclasses, etcd-tools' Go structs. */
const ORDER = {
  wgkex: {
    config: [
      "nonce",
      "time",
      "id",
      "mtu",
      "concentrators",
      "range6",
      "address6",
      "xlat_range6",
      "range4",
      "address4",
      "wg_keepalive",
      "retry",
    ],
    retry: ["nonce", "time", "retry"],
  },
  ffbs: {
    config: [
      "id",
      "concentrators",
      "mtu",
      "retry",
      "wg_keepalive",
      "range4",
      "range6",
      "xlat_range6",
      "address4",
      "address6",
      "nonce",
      "time",
    ],
    retry: ["retry", "nonce", "time"],
  },
} as const satisfies Record<
  AnswerFormat,
  { config: ReadonlyArray<keyof NodeConfigAnswer>; retry: ReadonlyArray<keyof RetryAnswer> }
>;
const CONCENTRATOR_ORDER = ["address4", "address6", "endpoint", "pubkey", "id"] as const;

const pick = <T extends object>(value: T, keys: ReadonlyArray<keyof T>, map: (v: T[keyof T]) => Value | undefined) =>
  keys.map((key) => [String(key), map(value[key])] as const);

/** The JSON line (without its "\n") of a configuration answer. */
export function encodeNodeConfig(answer: NodeConfigAnswer, format: AnswerFormat): string {
  const concentrators = answer.concentrators.map((c) => pick(c, CONCENTRATOR_ORDER, (v) => v));
  return encodeObject(
    pick(answer, ORDER[format].config, (v) => (Array.isArray(v) ? concentrators : (v as Value | undefined))),
    format,
  );
}

/** The JSON line of a "come back later" answer. */
export function encodeRetry(answer: RetryAnswer, format: AnswerFormat): string {
  return encodeObject(
    pick(answer, ORDER[format].retry, (v) => v),
    format,
  );
}

/** The whole body: JSON, "\n", signature over both, no trailing newline (as both servers). */
export async function signedBody(json: string, signer: Pick<ParkerSigner, "sign">): Promise<string> {
  const message = `${json}\n`;
  return message + (await signer.sign(message));
}
