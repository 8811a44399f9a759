/**
 * Exact argv of every command the agent runs. Kept in one place so tests can assert them
 * and `--dry-run` prints the same thing that would run.
 */
export const ZERO_MAC = "00:00:00:00:00:00";
export const VXLAN_PORT = 8472;

export const ip = {
  linkShow: (dev: string) => ["ip", "-d", "-j", "link", "show", "dev", dev],
  /** Every link of the namespace, in one process (the interface health check). */
  linkShowAll: () => ["ip", "-d", "-j", "link", "show"],
  linkAddWireguard: (dev: string) => ["ip", "link", "add", "dev", dev, "type", "wireguard"],
  linkAddVxlan: (dev: string, vni: number, local: string, over: string) => [
    "ip",
    "link",
    "add",
    "dev",
    dev,
    "type",
    "vxlan",
    "id",
    String(vni),
    "local",
    local,
    "dstport",
    String(VXLAN_PORT),
    "dev",
    over,
  ],
  setAddress: (dev: string, mac: string) => ["ip", "link", "set", "dev", dev, "address", mac],
  linkAddBridge: (dev: string) => ["ip", "link", "add", "dev", dev, "type", "bridge"],
  linkDel: (dev: string) => ["ip", "link", "del", "dev", dev],
  addrgenmodeNone: (dev: string) => ["ip", "link", "set", "dev", dev, "addrgenmode", "none"],
  mtuUp: (dev: string, mtu: number) => ["ip", "link", "set", "dev", dev, "mtu", String(mtu), "up"],
  up: (dev: string) => ["ip", "link", "set", "dev", dev, "up"],
  master: (dev: string, master: string) => ["ip", "link", "set", "dev", dev, "master", master],
  addrShow6: (dev: string) => ["ip", "-6", "-j", "addr", "show", "dev", dev],
  addrReplace: (dev: string, ll: string) => ["ip", "-6", "addr", "replace", `${ll}/128`, "dev", dev],
  addrDel: (dev: string, cidr: string) => ["ip", "-6", "addr", "del", cidr, "dev", dev],
  routeShow: (dev: string) => ["ip", "-6", "-j", "route", "show", "dev", dev],
  /** Many route changes in one process; `-force` keeps going after a failed line. */
  batch: () => ["ip", "-6", "-force", "-batch", "-"],
  routeReplaceLine: (ll: string, dev: string) => `route replace ${ll}/128 dev ${dev}`,
  routeDelLine: (ll: string, dev: string) => `route del ${ll}/128 dev ${dev}`,
  routeReplace: (ll: string, dev: string) => ["ip", "-6", "route", "replace", `${ll}/128`, "dev", dev],
  routeDel: (ll: string, dev: string) => ["ip", "-6", "route", "del", `${ll}/128`, "dev", dev],
};

export const bridge = {
  fdbShow: (dev: string) => ["bridge", "-j", "fdb", "show", "dev", dev],
  batch: () => ["bridge", "-force", "-batch", "-"],
  fdbAppendLine: (vx: string, ll: string, wg: string) => `fdb append ${ZERO_MAC} dev ${vx} dst ${ll} via ${wg}`,
  fdbDelLine: (vx: string, ll: string, wg: string) => `fdb del ${ZERO_MAC} dev ${vx} dst ${ll} via ${wg}`,
  fdbAppend: (vx: string, ll: string, wg: string) => [
    "bridge",
    "fdb",
    "append",
    ZERO_MAC,
    "dev",
    vx,
    "dst",
    ll,
    "via",
    wg,
  ],
  fdbDel: (vx: string, ll: string, wg: string) => ["bridge", "fdb", "del", ZERO_MAC, "dev", vx, "dst", ll, "via", wg],
};

export const wg = {
  show: (dev: string) => ["wg", "show", dev, "dump"],
  publicKey: (dev: string) => ["wg", "show", dev, "public-key"],
  setKeyPort: (dev: string, keyFile: string, port: number) => [
    "wg",
    "set",
    dev,
    "private-key",
    keyFile,
    "listen-port",
    String(port),
  ],
  /**
   * Many peers in one process: `wg set <dev> peer K1 allowed-ips L1/128 peer K2 …`.
   * (Not `wg addconf <dev> /dev/stdin`: Node hands children a socket as stdin, and
   * opening /dev/stdin on a socket fails with ENXIO.)
   */
  setPeers: (dev: string, peers: ReadonlyArray<{ key: string; ll: string }>) => [
    "wg",
    "set",
    dev,
    ...peers.flatMap((p) => ["peer", p.key, "allowed-ips", `${p.ll}/128`]),
  ],
  setPeer: (dev: string, key: string, ll: string) => ["wg", "set", dev, "peer", key, "allowed-ips", `${ll}/128`],
  setStaticPeer: (dev: string, key: string, ll: string, endpoint?: string, keepalive?: number) => [
    "wg",
    "set",
    dev,
    "peer",
    key,
    "allowed-ips",
    `${ll}/128`,
    ...(endpoint ? ["endpoint", endpoint] : []),
    ...(keepalive !== undefined ? ["persistent-keepalive", String(keepalive)] : []),
  ],
  /** `wg set <dev> peer K1 remove peer K2 remove …` */
  removePeers: (dev: string, keys: readonly string[]) => [
    "wg",
    "set",
    dev,
    ...keys.flatMap((k) => ["peer", k, "remove"]),
  ],
};

export const batctl = {
  create: (bat: string, algo: string) => ["batctl", "meshif", bat, "interface", "create", "routing_algo", algo],
  addHardif: (bat: string, hardif: string) => ["batctl", "meshif", bat, "interface", "-M", "add", hardif],
  throughputOverride: (hardif: string, rate: string) => ["batctl", "hardif", hardif, "throughput_override", rate],
  gwMode: (bat: string, mode: string) => ["batctl", "meshif", bat, "gw_mode", mode],
  hopPenalty: (bat: string, penalty: number) => ["batctl", "meshif", bat, "hop_penalty", String(penalty)],
  fragmentation: (bat: string) => ["batctl", "meshif", bat, "fragmentation"],
};

/**
 * Parker (routed nodes): one WireGuard interface, peers with their ranges as allowed-ips,
 * one route per range. `ip` infers the family of each route from its prefix, so IPv4 and
 * IPv6 ranges share one batch.
 */
export const parker = {
  setPeers: (dev: string, peers: ReadonlyArray<{ key: string; allowedIps: readonly string[] }>) => [
    "wg",
    "set",
    dev,
    ...peers.flatMap((p) => ["peer", p.key, "allowed-ips", p.allowedIps.join(",")]),
  ],
  setPeer: (dev: string, key: string, allowedIps: readonly string[]) => [
    "wg",
    "set",
    dev,
    "peer",
    key,
    "allowed-ips",
    allowedIps.join(","),
  ],
  batch: () => ["ip", "-force", "-batch", "-"],
  routeReplaceLine: (prefix: string, dev: string) => `route replace ${prefix} dev ${dev}`,
  routeDelLine: (prefix: string, dev: string) => `route del ${prefix} dev ${dev}`,
  routeReplace: (prefix: string, dev: string) => ["ip", "route", "replace", prefix, "dev", dev],
  routeDel: (prefix: string, dev: string) => ["ip", "route", "del", prefix, "dev", dev],
  routeShow: (family: 4 | 6, dev: string) => ["ip", `-${family}`, "-j", "route", "show", "dev", dev],
  /** The concentrator's IPv4 next hop for nodes (`address4`); `address6` is its link-local. */
  addr4Replace: (dev: string, address: string) => ["ip", "-4", "addr", "replace", `${address}/32`, "dev", dev],
};
