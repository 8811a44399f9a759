import { type AddressVariant, isPublicKey, linkLocal } from "@wgkex-edge/shared";
import { bridge, ip, wg } from "../commands/builders.ts";
import type { CommandRunner } from "../commands/runner.ts";
import type { Failure } from "./batch.ts";
import { batchWithRetry, isBenignAddError, isBenignRemoveError, wgInChunks } from "./batch.ts";

export type { Failure } from "./batch.ts";

export interface PeerTarget {
  readonly wireguard: string;
  readonly vxlan: string;
  readonly variant: AddressVariant;
}

export interface BatchLimits {
  /** Peers per `wg set … peer K allowed-ips …` invocation (≈ 100 bytes of argv each). */
  readonly setChunk: number;
  /** Peers per `wg set … peer K remove …` invocation. */
  readonly removeChunk: number;
}

export const DEFAULT_LIMITS: BatchLimits = { setChunk: 2500, removeChunk: 2500 };

export interface ProgramResult {
  /** Keys fully handled (installed or removed). */
  readonly done: string[];
  readonly failed: Failure[];
}

export interface ProgrammerHooks {
  /** A command failed (after benign errors were discounted); label = the program name. */
  onCommandFailure?: (command: string) => void;
}

const INVALID_KEY = "not a canonical WireGuard public key";

/** Pure: split into valid unique keys with their link-local address, and invalid ones. */
export function planPeers(
  keys: readonly string[],
  variant: AddressVariant,
): { peers: Array<{ key: string; ll: string }>; invalid: Failure[] } {
  const seen = new Set<string>();
  const peers: Array<{ key: string; ll: string }> = [];
  const invalid: Failure[] = [];
  for (const key of keys) {
    if (!isPublicKey(key)) {
      invalid.push({ public_key: String(key), reason: INVALID_KEY });
      continue;
    }
    if (seen.has(key)) continue;
    seen.add(key);
    peers.push({ key, ll: linkLocal(key, variant) });
  }
  return { peers, invalid };
}

type Step = "addRoute" | "delRoute" | "addFdb" | "delFdb";

/**
 * Installs and removes node peers on one domain's interfaces with a handful of processes:
 * one `wg set` per chunk of 2,500 peers, one `ip -batch`, one `bridge -batch`. Failed batches are
 * retried item by item; failures are returned, never thrown, and never block other keys.
 */
export class PeerProgrammer {
  readonly #runner: CommandRunner;
  readonly #target: PeerTarget;
  readonly #limits: BatchLimits;
  readonly #hooks: ProgrammerHooks;

  constructor(
    runner: CommandRunner,
    target: PeerTarget,
    limits: BatchLimits = DEFAULT_LIMITS,
    hooks: ProgrammerHooks = {},
  ) {
    this.#runner = runner;
    this.#target = target;
    this.#limits = limits;
    this.#hooks = hooks;
  }

  async install(keys: readonly string[]): Promise<ProgramResult> {
    const { peers, invalid } = planPeers(keys, this.#target.variant);
    const failed: Failure[] = [...invalid];
    const { wireguard: wgIf } = this.#target;
    // WireGuard peer, route, FDB entry: each step only for keys whose previous step worked.
    let ok = await this.#wgChunks(
      peers,
      this.#limits.setChunk,
      (part) => wg.setPeers(wgIf, part),
      (p) => wg.setPeer(wgIf, p.key, p.ll),
      () => false,
      failed,
    );
    ok = await this.#step("addRoute", ok, failed);
    ok = await this.#step("addFdb", ok, failed);
    return { done: ok.map((p) => p.key), failed };
  }

  /** Removal order: FDB entry, route, peer. "Not found" counts as removed. */
  async remove(keys: readonly string[]): Promise<ProgramResult> {
    const { peers, invalid } = planPeers(keys, this.#target.variant);
    const failed: Failure[] = [...invalid];
    const { wireguard: wgIf } = this.#target;
    let ok = await this.#step("delFdb", peers, failed);
    ok = await this.#step("delRoute", ok, failed);
    ok = await this.#wgChunks(
      ok,
      this.#limits.removeChunk,
      (part) =>
        wg.removePeers(
          wgIf,
          part.map((p) => p.key),
        ),
      (p) => wg.removePeers(wgIf, [p.key]),
      isBenignRemoveError,
      failed,
    );
    return { done: ok.map((p) => p.key), failed };
  }

  /** Route/FDB changes for many peers (no-key form used by reconcile). */
  async routesAndFdb(
    change: { addRoutes?: string[]; delRoutes?: string[]; addFdb?: string[]; delFdb?: string[] },
    failed: Failure[] = [],
  ): Promise<Failure[]> {
    const asItems = (lls: string[] | undefined) => (lls ?? []).map((ll) => ({ key: ll, ll }));
    await this.#step("delFdb", asItems(change.delFdb), failed);
    await this.#step("delRoute", asItems(change.delRoutes), failed);
    await this.#step("addRoute", asItems(change.addRoutes), failed);
    await this.#step("addFdb", asItems(change.addFdb), failed);
    return failed;
  }

  /** One route or FDB step for many peers: one batch process (see #batch). */
  #step<T extends { key: string; ll: string }>(step: Step, items: T[], failed: Failure[]): Promise<T[]> {
    const { wireguard: wgIf, vxlan: vxIf } = this.#target;
    const steps = {
      addRoute: [
        "ip",
        ip.batch(),
        (ll: string) => ip.routeReplaceLine(ll, wgIf),
        (ll: string) => ip.routeReplace(ll, wgIf),
        isBenignAddError,
      ],
      delRoute: [
        "ip",
        ip.batch(),
        (ll: string) => ip.routeDelLine(ll, wgIf),
        (ll: string) => ip.routeDel(ll, wgIf),
        isBenignRemoveError,
      ],
      addFdb: [
        "bridge",
        bridge.batch(),
        (ll: string) => bridge.fdbAppendLine(vxIf, ll, wgIf),
        (ll: string) => bridge.fdbAppend(vxIf, ll, wgIf),
        isBenignAddError,
      ],
      delFdb: [
        "bridge",
        bridge.batch(),
        (ll: string) => bridge.fdbDelLine(vxIf, ll, wgIf),
        (ll: string) => bridge.fdbDel(vxIf, ll, wgIf),
        isBenignRemoveError,
      ],
    } as const;
    const [command, argv, line, single, benign] = steps[step];
    return this.#batch(
      command,
      items,
      argv,
      (p) => line(p.ll),
      (p) => single(p.ll),
      benign,
      failed,
    );
  }

  #wgChunks<T extends { key: string }>(
    items: T[],
    size: number,
    many: (part: T[]) => string[],
    one: (item: T) => string[],
    benign: (message: string) => boolean,
    failed: Failure[],
  ): Promise<T[]> {
    return wgInChunks(this.#runner, {
      items,
      size,
      many,
      one,
      benign,
      failed,
      onFailure: this.#hooks.onCommandFailure,
    });
  }

  #batch<T extends { key: string }>(
    command: string,
    items: T[],
    argv: string[],
    line: (item: T) => string,
    single: (item: T) => string[],
    benign: (message: string) => boolean,
    failed: Failure[],
  ): Promise<T[]> {
    return batchWithRetry(this.#runner, {
      command,
      items,
      argv,
      line,
      single,
      benign,
      failed,
      onFailure: this.#hooks.onCommandFailure,
    });
  }
}
