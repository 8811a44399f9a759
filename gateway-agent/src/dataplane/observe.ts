/** Pure parsers for what the host reports: `wg show dump`, `ip -j route`, `bridge -j fdb`. */

export interface WgPeer {
  readonly key: string;
  readonly endpoint: string | undefined;
  readonly allowedIps: readonly string[];
  /** Seconds since the epoch; 0 = never. */
  readonly latestHandshake: number;
}

export interface WgDump {
  readonly publicKey: string | undefined;
  readonly listenPort: number | undefined;
  readonly peers: WgPeer[];
}

/** `wg show <if> dump`: first line is the interface, then one tab-separated line per peer. */
export function parseWgDump(text: string): WgDump {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const [head, ...rest] = lines;
  const h = head?.split("\t") ?? [];
  const peers: WgPeer[] = [];
  for (const line of rest) {
    const f = line.split("\t");
    if (f.length < 8) continue;
    peers.push({
      key: f[0]!,
      endpoint: f[2] === "(none)" ? undefined : f[2],
      allowedIps: f[3] === "(none)" ? [] : f[3]!.split(","),
      latestHandshake: Number(f[4]) || 0,
    });
  }
  return {
    publicKey: h[1] && h[1] !== "(none)" ? h[1] : undefined,
    listenPort: h[2] ? Number(h[2]) : undefined,
    peers,
  };
}

export interface RouteEntry {
  readonly dst: string;
  readonly protocol: string | undefined;
}

function parseJsonArray(text: string): Array<Record<string, unknown>> {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  const data: unknown = JSON.parse(trimmed);
  return Array.isArray(data) ? (data as Array<Record<string, unknown>>) : [];
}

export function parseRoutes(json: string): RouteEntry[] {
  return parseJsonArray(json).map((r) => ({
    dst: String(r.dst ?? ""),
    protocol: typeof r.protocol === "string" ? r.protocol : undefined,
  }));
}

export interface FdbEntry {
  readonly mac: string;
  readonly dst: string | undefined;
  readonly via: string | undefined;
}

export function parseFdb(json: string): FdbEntry[] {
  return parseJsonArray(json).map((e) => ({
    mac: String(e.mac ?? ""),
    dst: typeof e.dst === "string" ? e.dst : undefined,
    via: typeof e.viaIf === "string" ? e.viaIf : undefined,
  }));
}

/** A host route to one link-local address: `fe80::…` or `fe80::…/128`. */
export function linkLocalHostRoute(dst: string): string | undefined {
  const m = /^(fe80:[0-9a-f:]*)(\/128)?$/i.exec(dst);
  return m ? m[1]!.toLowerCase() : undefined;
}
