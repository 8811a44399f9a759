/**
 * IP addresses and prefixes as the Parker node client needs them: values as bigints, text
 * exactly as `ip addr` prints it (glibc inet_ntop, which follows RFC 5952). The node
 * compares our strings with `ip` output; any other spelling re-adds its addresses every
 * cycle.
 */
export type Family = 4 | 6;

export interface Address {
  readonly family: Family;
  readonly value: bigint;
}

export interface Prefix {
  readonly family: Family;
  /** The network address (host bits zero). */
  readonly network: bigint;
  readonly length: number;
}

export const familyBits = (family: Family): number => (family === 4 ? 32 : 128);

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^(?:0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIPv6(text: string): bigint | undefined {
  let body = text.toLowerCase();
  let tail: bigint[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (dotted) {
    const v4 = parseIPv4(dotted[2]!);
    if (v4 === undefined) return undefined;
    body = `${dotted[1]}0:0`;
    tail = [v4 >> 16n, v4 & 0xffffn];
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string): bigint[] | undefined => {
    if (part === "") return [];
    const out: bigint[] = [];
    for (const g of part.split(":")) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
      out.push(BigInt(`0x${g}`));
    }
    return out;
  };
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === undefined || rest === undefined) return undefined;
  let all: bigint[];
  if (halves.length === 1) {
    if (head.length !== 8) return undefined;
    all = head;
  } else {
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return undefined;
    all = [...head, ...new Array<bigint>(missing).fill(0n), ...rest];
  }
  if (tail.length === 2) all = [...all.slice(0, 6), ...tail];
  return all.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** An IPv4 or IPv6 address in any valid spelling; undefined when it is neither. */
export function parseAddress(text: string): Address | undefined {
  if (text.includes(":")) {
    const value = parseIPv6(text);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseIPv4(text);
  return value === undefined ? undefined : { family: 4, value };
}

function formatIPv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
}

/** glibc's inet_ntop for IPv6: the longest run (≥ 2) of zero groups becomes "::", the first on ties. */
function formatIPv6(value: bigint): string {
  const words = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      cur = cur.base === -1 ? { base: i, len: 1 } : { base: cur.base, len: cur.len + 1 };
      if (cur.len > best.len) best = { ...cur };
    } else {
      cur = { base: -1, len: 0 };
    }
  }
  if (best.len < 2) best = { base: -1, len: 0 };
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (best.base !== -1 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ":";
      continue;
    }
    if (i !== 0) out += ":";
    // An IPv4-compatible or IPv4-mapped address ends in dotted quad, as glibc prints it.
    if (i === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff))) {
      out += formatIPv4(value & 0xffffffffn);
      return out;
    }
    out += words[i]!.toString(16);
  }
  if (best.base !== -1 && best.base + best.len === 8) out += ":";
  return out;
}

/** The text `ip` prints for an address. */
export function formatAddress(address: Address): string {
  return address.family === 4 ? formatIPv4(address.value) : formatIPv6(address.value);
}

/** Any valid spelling to the canonical one; undefined when not an address. */
export function canonicalAddress(text: string): string | undefined {
  const address = parseAddress(text);
  return address === undefined ? undefined : formatAddress(address);
}

export type PrefixParse = { ok: true; prefix: Prefix } | { ok: false; reason: string };

/** "network/length" with the host bits zero; the reason says what is wrong. */
export function parsePrefix(text: string): PrefixParse {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!match) return { ok: false, reason: `"${text}" is not a prefix of the form address/length` };
  const address = parseAddress(match[1]!);
  if (address === undefined) return { ok: false, reason: `"${match[1]}" is not an IPv4 or IPv6 address` };
  const length = Number(match[2]);
  const bits = familyBits(address.family);
  if (length > bits) return { ok: false, reason: `length /${length} is longer than an IPv${address.family} address` };
  const network = address.value & mask(address.family, length);
  if (network !== address.value) {
    const fixed = formatPrefix({ family: address.family, network, length });
    return { ok: false, reason: `"${text}" has host bits set; did you mean ${fixed}?` };
  }
  return { ok: true, prefix: { family: address.family, network, length } };
}

/** A prefix that is known to be valid (configuration validated, constants); throws otherwise. */
export function prefixOf(text: string): Prefix {
  const parsed = parsePrefix(text);
  if (!parsed.ok) throw new TypeError(parsed.reason);
  return parsed.prefix;
}

export function mask(family: Family, length: number): bigint {
  const bits = BigInt(familyBits(family));
  const all = (1n << bits) - 1n;
  return (all >> BigInt(length)) ^ all;
}

export function formatPrefix(prefix: Prefix): string {
  return `${formatAddress({ family: prefix.family, value: prefix.network })}/${prefix.length}`;
}

/** How many subnets of `length` a prefix holds (2^(length − prefix length)). */
export function subnetCount(prefix: Prefix, length: number): bigint {
  if (length < prefix.length || length > familyBits(prefix.family)) return 0n;
  return 1n << BigInt(length - prefix.length);
}

/** The `index`-th subnet of `length` inside `prefix`, counting from 0. */
export function subnet(prefix: Prefix, length: number, index: bigint | number): Prefix {
  const i = BigInt(index);
  if (i < 0n || i >= subnetCount(prefix, length)) {
    throw new RangeError(`subnet ${i} of /${length} is outside ${formatPrefix(prefix)}`);
  }
  const shift = BigInt(familyBits(prefix.family) - length);
  return { family: prefix.family, network: prefix.network + (i << shift), length };
}

/** The address `offset` into a prefix: offset 1 is the conventional `.1` / `::1`. */
export function hostAddress(prefix: Prefix, offset: bigint | number = 1n): Address {
  return { family: prefix.family, value: prefix.network + BigInt(offset) };
}

export function containsPrefix(outer: Prefix, inner: Prefix): boolean {
  return (
    outer.family === inner.family &&
    inner.length >= outer.length &&
    (inner.network & mask(outer.family, outer.length)) === outer.network
  );
}

export const overlaps = (a: Prefix, b: Prefix): boolean => containsPrefix(a, b) || containsPrefix(b, a);
