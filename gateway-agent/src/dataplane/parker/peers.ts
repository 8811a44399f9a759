import { isPublicKey } from "@wgkex-edge/shared";
import type { Prefix } from "@wgkex-edge/shared/parker";
import { parker, wg } from "../../commands/builders.ts";
import type { CommandRunner } from "../../commands/runner.ts";
import { batchWithRetry, type Failure, isBenignAddError, isBenignRemoveError, wgInChunks } from "../batch.ts";
import type { BatchLimits, ProgrammerHooks, ProgramResult } from "../peers.ts";
import { DEFAULT_LIMITS } from "../peers.ts";
import { checkRanges, rangesInPools } from "./ranges.ts";

/** A routed node: its key and the ranges routed to it (its IPv6 allocation, its IPv4 range). */
export interface RoutedPeer {
  readonly key: string;
  readonly ranges: readonly string[];
}

export interface ParkerTarget {
  readonly wireguard: string;
  /** The prefixes this gateway may route to nodes (agent config `parker.pools`). */
  readonly pools: readonly Prefix[];
}

type Route = { key: string; prefix: string };

/**
 * Parker's data plane for one domain: a peer per node with `allowed-ips` = its ranges and a
 * route per range on the one WireGuard interface. No VXLAN, no FDB, no batman-adv. Same
 * batching as the batman-adv domains: one `wg set` per chunk, one `ip -batch` for every
 * route of the batch, per-item retries, failures returned per key.
 */
export class ParkerPeerProgrammer {
  readonly #runner: CommandRunner;
  readonly #target: ParkerTarget;
  readonly #limits: BatchLimits;
  readonly #hooks: ProgrammerHooks;

  constructor(runner: CommandRunner, target: ParkerTarget, limits = DEFAULT_LIMITS, hooks: ProgrammerHooks = {}) {
    this.#runner = runner;
    this.#target = target;
    this.#limits = limits;
    this.#hooks = hooks;
  }

  /** Validate, then peer (allowed-ips = ranges), then a route per range. */
  async install(peers: readonly RoutedPeer[]): Promise<ProgramResult> {
    const failed: Failure[] = [];
    const valid: RoutedPeer[] = [];
    const seen = new Set<string>();
    for (const peer of peers) {
      if (!isPublicKey(peer.key)) {
        failed.push({ public_key: String(peer.key), reason: "not a canonical WireGuard public key" });
        continue;
      }
      const check = checkRanges(peer.ranges, this.#target.pools);
      if (!check.ok) failed.push({ public_key: peer.key, reason: check.reason });
      else if (!seen.has(peer.key)) valid.push({ key: peer.key, ranges: check.ranges });
      seen.add(peer.key);
    }
    const dev = this.#target.wireguard;
    const installed = await wgInChunks(this.#runner, {
      items: valid,
      size: this.#limits.setChunk,
      many: (part) =>
        parker.setPeers(
          dev,
          part.map((p) => ({ key: p.key, allowedIps: p.ranges })),
        ),
      one: (p) => parker.setPeer(dev, p.key, p.ranges),
      benign: () => false,
      failed,
      onFailure: this.#hooks.onCommandFailure,
    });
    const routed = await this.#routes(
      installed.flatMap((p) => p.ranges.map((prefix) => ({ key: p.key, prefix }))),
      "add",
      failed,
    );
    const failedKeys = new Set(failed.map((f) => f.public_key));
    return { done: installed.map((p) => p.key).filter((k) => !failedKeys.has(k) && routed.has(k)), failed };
  }

  /**
   * Routes first, then the peer. `current` is what the interface has (wg show dump): only
   * ranges inside the pools are un-routed, and a range another peer holds now is not ours
   * to remove (WireGuard moves an allowed-ip to the peer that was given it last).
   */
  async remove(keys: readonly string[], current: ReadonlyMap<string, readonly string[]>): Promise<ProgramResult> {
    const failed: Failure[] = [];
    const valid = [...new Set(keys)].filter((key) => {
      if (isPublicKey(key)) return true;
      failed.push({ public_key: String(key), reason: "not a canonical WireGuard public key" });
      return false;
    });
    const routes: Route[] = [];
    for (const key of valid) {
      for (const prefix of rangesInPools(current.get(key) ?? [], this.#target.pools)) routes.push({ key, prefix });
    }
    const unrouted = await this.#routes(routes, "del", failed);
    const withRoutes = new Set(routes.map((r) => r.key));
    const ready = valid.filter((k) => !withRoutes.has(k) || unrouted.has(k));
    const dev = this.#target.wireguard;
    const removed = await wgInChunks(this.#runner, {
      items: ready.map((key) => ({ key })),
      size: this.#limits.removeChunk,
      many: (part) =>
        wg.removePeers(
          dev,
          part.map((p) => p.key),
        ),
      one: (p) => wg.removePeers(dev, [p.key]),
      benign: isBenignRemoveError,
      failed,
      onFailure: this.#hooks.onCommandFailure,
    });
    return { done: removed.map((p) => p.key), failed };
  }

  /** Route changes with no key attached (reconcile): orphans removed, missing ones added. */
  async routes(change: { add: readonly string[]; del: readonly string[] }, failed: Failure[] = []): Promise<Failure[]> {
    await this.#routes(
      change.del.map((prefix) => ({ key: prefix, prefix })),
      "del",
      failed,
    );
    await this.#routes(
      change.add.map((prefix) => ({ key: prefix, prefix })),
      "add",
      failed,
    );
    return failed;
  }

  /** Keys all of whose routes are in place (or gone, for "del"). */
  async #routes(routes: Route[], op: "add" | "del", failed: Failure[]): Promise<Set<string>> {
    const dev = this.#target.wireguard;
    const ok = await batchWithRetry(this.#runner, {
      command: "ip",
      items: routes,
      argv: parker.batch(),
      line: (r) => (op === "add" ? parker.routeReplaceLine(r.prefix, dev) : parker.routeDelLine(r.prefix, dev)),
      single: (r) => (op === "add" ? parker.routeReplace(r.prefix, dev) : parker.routeDel(r.prefix, dev)),
      benign: op === "add" ? isBenignAddError : isBenignRemoveError,
      failed,
      onFailure: this.#hooks.onCommandFailure,
    });
    const done = new Set(ok);
    const bad = new Set(routes.filter((r) => !done.has(r)).map((r) => r.key));
    return new Set(routes.map((r) => r.key).filter((k) => !bad.has(k)));
  }
}
