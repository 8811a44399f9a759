import { canonicalAddress, mask, parseAddress, parsePrefix } from "../src/parker/ip.ts";
import { usignVerify } from "../src/parker/verify.ts";

/**
 * A Parker node for tests, written from parker-facts §1–§2: one request cycle of
 * `nodeconfig.sh` + `nodeconfig.lua`, with the WireGuard state a router would have, for
 * both real clients (upstream FF Braunschweig and FFMUC's 464XLAT fork). It fetches like
 * wget, splits the answer with `head -n -1` / `tail -n 1`, verifies it as usign does,
 * checks the nonce, and applies the configuration to its emulated interfaces exactly as
 * the Lua would, reporting every change. Besides what the router does, it lists
 * `problems`: contract breaches a real router would survive but pay for (a tunnel
 * re-set every cycle, a missing route, a busy loop).
 */
export type ParkerFlavour = "upstream" | "ffmuc";

export interface ParkerNodeOptions {
  readonly flavour: ParkerFlavour;
  /** `parker.nodeconfig.config_server`: host[:port], plain HTTP. */
  readonly configServer: string;
  /** `parker.nodeconfig.config_pubkey`: base64 of the 42-byte signify public key. */
  readonly configPubkey: string;
  /** The node's WireGuard public key (`/etc/parker/wg-pubkey`). */
  readonly publicKey: string;
  /** `/proc/sys/net/ipv6/conf/br-wan/mtu`; "" when br-wan is missing. */
  readonly v6mtu?: number | "";
  readonly version?: string;
  readonly tc?: { readonly ingress: number; readonly egress: number };
  /** How the node reaches the server; the global fetch by default. */
  readonly fetch?: (url: string) => Promise<{ status: number; body: string }>;
  /** The node's clock, seconds since the epoch. */
  readonly clock?: () => number;
  /** FFMUC only: the WAN has an IPv6 default route (resolve endpoints v6 first). */
  readonly wanIPv6?: boolean;
  /** FFMUC only: host names the node can resolve; anything else is unresolvable. */
  readonly resolve?: (host: string, family: 4 | 6) => string | undefined;
  /** Fixed nonces instead of random ones (a replay test hands in the old one). */
  readonly nonce?: () => string;
}

export interface PeerState {
  pubkey: string;
  endpoint: string;
  keepalive: number;
  allowedIps: string[];
}

export interface TunnelState {
  name: string;
  mtu: number;
  peer: PeerState | undefined;
  /** What `ip addr show` prints, e.g. "inet 10.0.120.1 peer 10.0.0.1/32". */
  inet: string | undefined;
  inet6: string | undefined;
}

export type TunnelChange =
  | { op: "create"; iface: string; mtu: number; peer: PeerState }
  | { op: "delete"; iface: string }
  | { op: "set-peer"; iface: string; peer: PeerState; replaced?: string }
  | { op: "set-mtu"; iface: string; mtu: number }
  | { op: "address4"; iface: string; address: string; peer: string }
  | { op: "address6"; iface: string; address: string; peer: string };

export interface ParkerConfig {
  nonce: unknown;
  time: unknown;
  id?: unknown;
  mtu?: unknown;
  concentrators?: unknown;
  range4?: unknown;
  address4?: unknown;
  range6?: unknown;
  address6?: unknown;
  xlat_range6?: unknown;
  wg_keepalive?: unknown;
  retry?: unknown;
  [field: string]: unknown;
}

export type CycleOutcome =
  | {
      kind: "applied";
      url: string;
      sleep: number;
      config: ParkerConfig;
      changes: TunnelChange[];
      clockSetTo?: number;
      problems: string[];
    }
  /** Signed and verified, but without `id`: the node sleeps `retry` and changes nothing. */
  | { kind: "retry"; url: string; sleep: number; config: ParkerConfig; problems: string[] }
  | { kind: "failed"; url: string; sleep: number; stage: "fetch" | "signature" | "nonce" | "lua"; reason: string };

const DEFAULT_SLEEP = 20;

/** `head -n -1` and `tail -n 1` of BusyBox/coreutils: lines keep their "\n". */
export function splitResponse(body: string): { message: string; signatureLine: string } {
  const lines = body.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  return { message: lines.slice(0, -1).join(""), signatureLine: lines.at(-1) ?? "" };
}

export class ParkerNode {
  readonly tunnels = new Map<string, TunnelState>();
  private readonly options: ParkerNodeOptions;
  private backoff = 2;

  constructor(options: ParkerNodeOptions) {
    this.options = options;
  }

  /** The URL nodeconfig.sh builds: only "+" is escaped, `/` and `=` go raw. */
  url(nonce: string): string {
    const o = this.options;
    const pubkey = o.publicKey.replaceAll("+", "%2B");
    const tc = o.tc ? `&tc_ingress=${o.tc.ingress}&tc_egress=${o.tc.egress}` : "";
    return `http://${o.configServer}/config?pubkey=${pubkey}&nonce=${nonce}&v6mtu=${o.v6mtu ?? 1500}&version=${o.version ?? "v2023.2.4-parker-test"}${tc}`;
  }

  /** The sleep after a failure: upstream always 20 s; FFMUC 2, 4, 8, 16, 20, … */
  private failSleep(): number {
    if (this.options.flavour === "upstream") return DEFAULT_SLEEP;
    const sleep = this.backoff;
    this.backoff = Math.min(this.backoff * 2, DEFAULT_SLEEP);
    return sleep;
  }

  async cycle(): Promise<CycleOutcome> {
    const nonce = this.options.nonce?.() ?? randomNonce();
    const url = this.url(nonce);
    const fail = (stage: "fetch" | "signature" | "nonce" | "lua", reason: string): CycleOutcome => ({
      kind: "failed",
      url,
      sleep: this.failSleep(),
      stage,
      reason,
    });
    let response: { status: number; body: string };
    try {
      response = await (this.options.fetch ?? defaultFetch)(url);
    } catch (error) {
      return fail("fetch", String(error));
    }
    // wget exits non-zero for anything but 2xx; the body is never read.
    if (response.status < 200 || response.status > 299) return fail("fetch", `HTTP ${response.status}`);

    const { message, signatureLine } = splitResponse(response.body);
    const pubkeyFile = `untrusted comment: signify public key\n${this.options.configPubkey}\n`;
    const verdict = await usignVerify(
      Uint8Array.from(new TextEncoder().encode(message)),
      `\n${signatureLine}`,
      pubkeyFile,
    );
    if (!verdict.ok) return fail("signature", verdict.reason);

    let config: ParkerConfig;
    try {
      config = JSON.parse(message) as ParkerConfig;
      if (config === null || typeof config !== "object") throw new Error("not an object");
    } catch (error) {
      return fail("lua", `json.parse: ${String(error)}`);
    }
    if (config.nonce !== nonce) return fail("nonce", "nonce does not match");

    const problems: string[] = [];
    const retry = luaNumber(config.retry);
    if (retry === undefined) problems.push("retry is not a number: `sleep nil` fails at once and the node busy-loops");
    const sleep = retry ?? 0;
    if (config.id === undefined || config.id === null) {
      this.backoff = 2;
      return { kind: "retry", url, sleep, config, problems };
    }
    try {
      const clockSetTo = this.applyTime(config);
      const changes = this.applyWireGuard(config, problems);
      checkRanges(config, problems);
      this.backoff = 2;
      return {
        kind: "applied",
        url,
        sleep,
        config,
        changes,
        problems,
        ...(clockSetTo === undefined ? {} : { clockSetTo }),
      };
    } catch (error) {
      return fail("lua", error instanceof Error ? error.message : String(error));
    }
  }

  private applyTime(config: ParkerConfig): number | undefined {
    const time = luaNumber(config.time);
    if (time === undefined) throw new Error("attempt to perform arithmetic on field 'time'");
    const now = this.options.clock?.() ?? Math.floor(Date.now() / 1000);
    return Math.abs(now - time) > 60 ? time : undefined;
  }

  private allowedIps(config: ParkerConfig): string[] {
    return this.options.flavour === "ffmuc" && config.xlat_range6 !== undefined ? ["::/0"] : ["0.0.0.0/0", "::/0"];
  }

  /** The endpoint as the node hands it to wg; undefined = FFMUC could not resolve it. */
  private resolveEndpoint(endpoint: string): string | undefined {
    if (this.options.flavour === "upstream") return endpoint;
    const match = /^\[(.+)\]:(\d+)$/.exec(endpoint) ?? /^([^:]+):(\d+)$/.exec(endpoint);
    if (!match) return undefined;
    const [, host, port] = match as unknown as [string, string, string];
    const join = (a: string) => (a.includes(":") ? `[${a}]:${port}` : `${a}:${port}`);
    if (host.includes(":") || /^\d+\.\d+\.\d+\.\d+$/.test(host)) return join(host);
    const families: Array<4 | 6> = this.options.wanIPv6 ? [6, 4] : [4, 6];
    for (const family of families) {
      const address = this.options.resolve?.(host, family);
      if (address !== undefined) return join(address);
    }
    return undefined;
  }

  /** What wg shows for an endpoint it was given: the address in canonical form. */
  private static shown(endpoint: string): string {
    const match = /^\[(.+)\]:(\d+)$/.exec(endpoint) ?? /^([^:\]]+):(\d+)$/.exec(endpoint);
    const address = match ? canonicalAddress(match[1]!) : undefined;
    if (!match || address === undefined) return `resolved(${endpoint})`;
    return address.includes(":") ? `[${address}]:${match[2]}` : `${address}:${match[2]}`;
  }

  private tunnelMtu(config: ParkerConfig, endpoint: string): number {
    const mtu = luaNumber(config.mtu);
    if (mtu === undefined) throw new Error("bad argument: mtu");
    const wan = this.options.v6mtu;
    if (this.options.flavour === "upstream" || wan === undefined || wan === "") return mtu;
    const overhead = endpoint.startsWith("[") ? 80 : 60;
    return Math.max(1280, Math.min(mtu, wan - overhead));
  }

  private applyWireGuard(config: ParkerConfig, problems: string[]): TunnelChange[] {
    if (!Array.isArray(config.concentrators)) throw new Error("bad argument #1 to 'pairs' (table expected)");
    const keepalive = luaNumber(config.wg_keepalive);
    if (keepalive === undefined) throw new Error("attempt to concatenate field 'wg_keepalive' (a nil value)");
    const allowedIps = this.allowedIps(config);
    const changes: TunnelChange[] = [];
    const wanted = new Map<string, { c: Record<string, unknown>; endpoint: string | undefined }>();
    const ids = new Set<string>();
    for (const c of config.concentrators as Array<Record<string, unknown>>) {
      checkConcentrator(c, ids, problems);
      const iface = `wg_c${String(c.id)}`;
      const endpoint = this.resolveEndpoint(String(c.endpoint));
      const existing = this.tunnels.get(iface);
      if (endpoint === undefined && existing === undefined) continue;
      wanted.set(iface, { c, endpoint });
      if (existing === undefined && endpoint !== undefined) {
        const peer = { pubkey: String(c.pubkey), endpoint: ParkerNode.shown(endpoint), keepalive, allowedIps };
        const mtu = this.tunnelMtu(config, endpoint);
        this.tunnels.set(iface, { name: iface, mtu, peer, inet: undefined, inet6: undefined });
        changes.push({ op: "create", iface, mtu, peer });
      } else if (existing !== undefined && endpoint !== undefined) {
        // Both set the MTU of existing tunnels every cycle; only a different value is a change.
        const mtu = this.tunnelMtu(config, endpoint);
        if (existing.mtu !== mtu) {
          changes.push({ op: "set-mtu", iface, mtu });
          existing.mtu = mtu;
        }
      }
    }
    for (const [iface, tunnel] of [...this.tunnels]) {
      const target = wanted.get(iface);
      if (target === undefined) {
        this.tunnels.delete(iface);
        changes.push({ op: "delete", iface });
        continue;
      }
      if (target.endpoint === undefined) continue;
      const current = tunnel.peer!;
      const pubkey = String(target.c.pubkey);
      const differs =
        current.pubkey !== pubkey ||
        current.endpoint !== target.endpoint ||
        current.keepalive !== keepalive ||
        (this.options.flavour === "ffmuc" && current.allowedIps.join(",") !== allowedIps.join(","));
      if (differs && changes.every((ch) => !(ch.op === "create" && ch.iface === iface))) {
        const peer = { pubkey, endpoint: ParkerNode.shown(target.endpoint), keepalive, allowedIps };
        tunnel.peer = peer;
        changes.push({
          op: "set-peer",
          iface,
          peer,
          ...(current.pubkey !== pubkey ? { replaced: current.pubkey } : {}),
        });
      }
    }
    for (const [iface, { c }] of wanted) {
      const tunnel = this.tunnels.get(iface)!;
      const a4 = `inet ${String(config.address4)} peer ${String(c.address4)}`;
      if (tunnel.inet === undefined || !tunnel.inet.startsWith(a4)) {
        tunnel.inet = `inet ${canonicalAddress(String(config.address4)) ?? "?"} peer ${canonicalAddress(String(c.address4)) ?? "?"}/32`;
        changes.push({ op: "address4", iface, address: String(config.address4), peer: String(c.address4) });
      }
      const a6 = `inet6 ${String(config.address6)} peer ${String(c.address6)}`;
      if (tunnel.inet6 === undefined || !tunnel.inet6.startsWith(a6)) {
        tunnel.inet6 = `inet6 ${canonicalAddress(String(config.address6)) ?? "?"} peer ${canonicalAddress(String(c.address6)) ?? "?"}/128`;
        changes.push({ op: "address6", iface, address: String(config.address6), peer: String(c.address6) });
      }
    }
    return changes;
  }
}

/** Lua's tonumber-in-arithmetic coercion: numbers, and strings that read as numbers. */
function luaNumber(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function checkConcentrator(c: Record<string, unknown>, ids: Set<string>, problems: string[]): void {
  const id = c.id;
  if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || String(id).length > 11) {
    problems.push(
      `concentrator id ${JSON.stringify(id)} is not a number of at most 11 digits: noderoute never routes via it`,
    );
  }
  if (ids.has(String(id))) problems.push(`concentrator id ${String(id)} is listed twice: one tunnel for two gateways`);
  ids.add(String(id));
  for (const field of ["address4", "address6"] as const) {
    const value = c[field];
    if (typeof value !== "string" || canonicalAddress(value) !== value) {
      problems.push(`concentrator ${String(id)}: ${field} ${JSON.stringify(value)} is not an address as ip prints it`);
    }
  }
  const endpoint = String(c.endpoint);
  const literal = /^\[(.+)\]:\d+$/.exec(endpoint)?.[1] ?? /^([^:]+):\d+$/.exec(endpoint)?.[1];
  if (literal === undefined || parseAddress(literal) === undefined || canonicalAddress(literal) !== literal) {
    problems.push(
      `concentrator ${String(id)}: endpoint ${endpoint} is not a canonical IP literal (the peer is re-set every cycle)`,
    );
  }
}

function checkRanges(config: ParkerConfig, problems: string[]): void {
  for (const [range, address, family] of [
    ["range4", "address4", 4],
    ["range6", "address6", 6],
  ] as const) {
    const parsed = typeof config[range] === "string" ? parsePrefix(config[range] as string) : undefined;
    if (!parsed?.ok || parsed.prefix.family !== family) {
      problems.push(`${range} ${JSON.stringify(config[range])} is not an IPv${family} prefix with its length`);
      continue;
    }
    const text = config[address];
    const a = typeof text === "string" ? parseAddress(text) : undefined;
    if (a === undefined || canonicalAddress(text as string) !== text) {
      problems.push(`${address} ${JSON.stringify(text)} is not an address as ip prints it`);
    } else {
      const inside = a.family === family && (a.value & mask(family, parsed.prefix.length)) === parsed.prefix.network;
      if (!inside) problems.push(`${address} ${text} is outside ${range} ${String(config[range])}`);
    }
    if (family === 6 && parsed.prefix.length !== 64)
      problems.push(`range6 is a /${parsed.prefix.length}: SLAAC needs a /64`);
    if (family === 4 && parsed.prefix.length > 30) problems.push(`range4 /${parsed.prefix.length} leaves no DHCP pool`);
  }
  if (config.xlat_range6 !== undefined) {
    const x = typeof config.xlat_range6 === "string" ? parsePrefix(config.xlat_range6) : undefined;
    if (!x?.ok || x.prefix.family !== 6 || x.prefix.length !== 64) {
      problems.push(`xlat_range6 ${JSON.stringify(config.xlat_range6)} is not an IPv6 /64`);
    }
  }
  for (const field of ["time", "mtu", "wg_keepalive", "retry"] as const) {
    if (typeof config[field] !== "number") problems.push(`${field} is ${typeof config[field]}, not a JSON number`);
  }
}

/** `head -c16 /dev/urandom | md5sum | head -c32`: 32 lowercase hex characters. */
export function randomNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function defaultFetch(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { redirect: "manual" });
  return { status: response.status, body: await response.text() };
}
