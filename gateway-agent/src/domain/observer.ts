import { bridge, ip, parker, wg } from "../commands/builders.ts";
import type { CommandRunner } from "../commands/runner.ts";
import { type ObservedStack, parseAddresses, parseLinks } from "../dataplane/interface-health.ts";
import {
  type FdbEntry,
  parseFdb,
  parseRoutes,
  parseWgDump,
  type RouteEntry,
  type WgDump,
} from "../dataplane/observe.ts";
import type { Logger } from "../log.ts";
import type { DomainMetrics } from "../metrics.ts";

/** What one look at a domain's interfaces saw. Routes and FDB only when asked for. */
export interface Observation {
  readonly dump: WgDump;
  readonly routes?: readonly RouteEntry[];
  readonly fdb?: readonly FdbEntry[];
}

export type ObserveResult = { ok: true; observation: Observation } | { ok: false; error: string };

/**
 * Reads one domain's host state with read-only commands. Every successful `wg show dump`
 * refreshes the peer count (metrics, `status`); a failed read is logged and counted once.
 */
export class HostObserver {
  readonly #runner: CommandRunner;
  readonly #interfaces: { readonly wireguard: string; readonly vxlan: string };
  readonly #parker: boolean;
  readonly #metrics: DomainMetrics;
  readonly #logger: Logger;
  readonly #onPeerCount: (n: number) => void;

  constructor(options: {
    runner: CommandRunner;
    interfaces: { readonly wireguard: string; readonly vxlan: string };
    /** A Parker domain: routes of both families on the wg interface, no VXLAN. */
    parker?: boolean;
    metrics: DomainMetrics;
    logger: Logger;
    onPeerCount: (n: number) => void;
  }) {
    this.#runner = options.runner;
    this.#interfaces = options.interfaces;
    this.#parker = options.parker === true;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
    this.#onPeerCount = options.onPeerCount;
  }

  /** The installed WireGuard peers (`wg show <if> dump`). */
  async peers(): Promise<WgDump | undefined> {
    const r = await this.#runner.run(wg.show(this.#interfaces.wireguard), { readOnly: true });
    if (r.code !== 0) {
      this.#logger.error("cannot read WireGuard peers", { error: r.stderr.trim() });
      this.#metrics.commandFailed("wg");
      return undefined;
    }
    const dump = parseWgDump(r.stdout);
    this.#metrics.peers(dump.peers.length);
    this.#onPeerCount(dump.peers.length);
    return dump;
  }

  /**
   * The domain's interfaces as they are now: every link, the wg interface's addresses, and
   * its key and port from `dump` (the peers just read; undefined when they could not be).
   * Undefined when the links cannot be listed: nothing to judge by.
   */
  async stack(dump: WgDump | undefined): Promise<ObservedStack | undefined> {
    const links = await this.#runner.run(ip.linkShowAll(), { readOnly: true });
    const addrs = await this.#runner.run(ip.addrShow6(this.#interfaces.wireguard), { readOnly: true });
    try {
      if (links.code !== 0) throw new Error(links.stderr.trim() || `exit ${links.code}`);
      return {
        links: parseLinks(links.stdout),
        wireguard: dump && { publicKey: dump.publicKey, listenPort: dump.listenPort },
        addresses: addrs.code === 0 ? parseAddresses(addrs.stdout) : undefined,
      };
    } catch (e) {
      this.#logger.error("cannot list the interfaces", { error: (e as Error).message });
      return undefined;
    }
  }

  /** Peers, and with `routing` the wg interface's IPv6 routes and the VXLAN FDB. */
  async observe(options: { routing: boolean }): Promise<ObserveResult> {
    const dump = await this.peers();
    if (!dump) return { ok: false, error: "cannot read WireGuard peers" };
    if (!options.routing) return { ok: true, observation: { dump } };
    if (this.#parker) return this.#parkerRoutes(dump);
    const routes = await this.#runner.run(ip.routeShow(this.#interfaces.wireguard), { readOnly: true });
    const fdb = await this.#runner.run(bridge.fdbShow(this.#interfaces.vxlan), { readOnly: true });
    if (routes.code !== 0 || fdb.code !== 0) {
      const error = `${routes.stderr}${fdb.stderr}`.trim();
      this.#logger.error("cannot read routes or FDB", { error });
      return { ok: false, error: `cannot read routes or FDB: ${error}` };
    }
    return { ok: true, observation: { dump, routes: parseRoutes(routes.stdout), fdb: parseFdb(fdb.stdout) } };
  }

  /** A Parker domain's routes: IPv6 and IPv4 on the wg interface. */
  async #parkerRoutes(dump: WgDump): Promise<ObserveResult> {
    const wgIf = this.#interfaces.wireguard;
    const v6 = await this.#runner.run(parker.routeShow(6, wgIf), { readOnly: true });
    const v4 = await this.#runner.run(parker.routeShow(4, wgIf), { readOnly: true });
    if (v6.code !== 0 || v4.code !== 0) {
      const error = `${v6.stderr}${v4.stderr}`.trim();
      this.#logger.error("cannot read routes", { error });
      return { ok: false, error: `cannot read routes: ${error}` };
    }
    return { ok: true, observation: { dump, routes: [...parseRoutes(v6.stdout), ...parseRoutes(v4.stdout)], fdb: [] } };
  }
}
