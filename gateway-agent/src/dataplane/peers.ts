import { type AddressVariant, isPublicKey, linkLocal } from "@wgkex-edge/shared";
import { bridge, ip, wg } from "../commands/builders.ts";
import type { CommandResult, CommandRunner } from "../commands/runner.ts";
import { chunk, isBenignAddError, isBenignRemoveError, parseBatchErrors } from "./batch.ts";

export interface Failure {
  readonly public_key: string;
  readonly reason: string;
}

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

const reasonOf = (r: CommandResult) => (r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`).slice(0, 400);

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
    const { wireguard: wgIf, vxlan: vxIf } = this.#target;

    // 1. WireGuard peers.
    let ok: Array<{ key: string; ll: string }> = [];
    for (const part of chunk(peers, this.#limits.setChunk)) {
      const r = await this.#runner.run(wg.setPeers(wgIf, part));
      if (r.code === 0) {
        ok.push(...part);
        continue;
      }
      this.#hooks.onCommandFailure?.("wg");
      for (const p of part) {
        const single = await this.#runner.run(wg.setPeer(wgIf, p.key, p.ll));
        if (single.code === 0) ok.push(p);
        else {
          this.#hooks.onCommandFailure?.("wg");
          failed.push({ public_key: p.key, reason: `wg: ${reasonOf(single)}` });
        }
      }
    }

    // 2. Routes, 3. FDB entries: only for keys whose previous step worked.
    ok = await this.#batch(
      "ip",
      ok,
      ip.batch(),
      (p) => ip.routeReplaceLine(p.ll, wgIf),
      (p) => ip.routeReplace(p.ll, wgIf),
      isBenignAddError,
      failed,
    );
    ok = await this.#batch(
      "bridge",
      ok,
      bridge.batch(),
      (p) => bridge.fdbAppendLine(vxIf, p.ll, wgIf),
      (p) => bridge.fdbAppend(vxIf, p.ll, wgIf),
      isBenignAddError,
      failed,
    );
    return { done: ok.map((p) => p.key), failed };
  }

  /** Removal order: FDB entry, route, peer. "Not found" counts as removed. */
  async remove(keys: readonly string[]): Promise<ProgramResult> {
    const { peers, invalid } = planPeers(keys, this.#target.variant);
    const failed: Failure[] = [...invalid];
    const { wireguard: wgIf, vxlan: vxIf } = this.#target;
    let ok = await this.#batch(
      "bridge",
      peers,
      bridge.batch(),
      (p) => bridge.fdbDelLine(vxIf, p.ll, wgIf),
      (p) => bridge.fdbDel(vxIf, p.ll, wgIf),
      isBenignRemoveError,
      failed,
    );
    ok = await this.#batch(
      "ip",
      ok,
      ip.batch(),
      (p) => ip.routeDelLine(p.ll, wgIf),
      (p) => ip.routeDel(p.ll, wgIf),
      isBenignRemoveError,
      failed,
    );
    const done: string[] = [];
    for (const part of chunk(ok, this.#limits.removeChunk)) {
      const r = await this.#runner.run(
        wg.removePeers(
          wgIf,
          part.map((p) => p.key),
        ),
      );
      if (r.code === 0) {
        done.push(...part.map((p) => p.key));
        continue;
      }
      this.#hooks.onCommandFailure?.("wg");
      for (const p of part) {
        const single = await this.#runner.run(wg.removePeers(wgIf, [p.key]));
        if (single.code === 0 || isBenignRemoveError(single.stderr)) done.push(p.key);
        else {
          this.#hooks.onCommandFailure?.("wg");
          failed.push({ public_key: p.key, reason: `wg: ${reasonOf(single)}` });
        }
      }
    }
    return { done, failed };
  }

  /** Route/FDB changes for many peers (no-key form used by reconcile). */
  async routesAndFdb(
    change: { addRoutes?: string[]; delRoutes?: string[]; addFdb?: string[]; delFdb?: string[] },
    failed: Failure[] = [],
  ): Promise<Failure[]> {
    const { wireguard: wgIf, vxlan: vxIf } = this.#target;
    const asItems = (lls: string[] | undefined) => (lls ?? []).map((ll) => ({ key: ll, ll }));
    await this.#batch(
      "bridge",
      asItems(change.delFdb),
      bridge.batch(),
      (p) => bridge.fdbDelLine(vxIf, p.ll, wgIf),
      (p) => bridge.fdbDel(vxIf, p.ll, wgIf),
      isBenignRemoveError,
      failed,
    );
    await this.#batch(
      "ip",
      asItems(change.delRoutes),
      ip.batch(),
      (p) => ip.routeDelLine(p.ll, wgIf),
      (p) => ip.routeDel(p.ll, wgIf),
      isBenignRemoveError,
      failed,
    );
    await this.#batch(
      "ip",
      asItems(change.addRoutes),
      ip.batch(),
      (p) => ip.routeReplaceLine(p.ll, wgIf),
      (p) => ip.routeReplace(p.ll, wgIf),
      isBenignAddError,
      failed,
    );
    await this.#batch(
      "bridge",
      asItems(change.addFdb),
      bridge.batch(),
      (p) => bridge.fdbAppendLine(vxIf, p.ll, wgIf),
      (p) => bridge.fdbAppend(vxIf, p.ll, wgIf),
      isBenignAddError,
      failed,
    );
    return failed;
  }

  /** One batch process; on failure, the failed lines (or all, if unknown) are retried one by one. */
  async #batch<T extends { key: string }>(
    command: string,
    items: T[],
    argv: string[],
    line: (item: T) => string,
    single: (item: T) => string[],
    benign: (message: string) => boolean,
    failed: Failure[],
  ): Promise<T[]> {
    if (items.length === 0) return [];
    const r = await this.#runner.run(argv, { stdin: `${items.map(line).join("\n")}\n` });
    if (r.code === 0) return items;
    const errors = parseBatchErrors(r.stderr);
    const retry = new Set<number>();
    if (errors.size === 0) {
      for (let i = 0; i < items.length; i++) retry.add(i);
    } else {
      for (const [lineNo, message] of errors) if (!benign(message)) retry.add(lineNo - 1);
    }
    if (retry.size === 0) return items;
    this.#hooks.onCommandFailure?.(command);
    const ok: T[] = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (!retry.has(i)) {
        ok.push(item);
        continue;
      }
      const s = await this.#runner.run(single(item));
      if (s.code === 0 || benign(s.stderr)) ok.push(item);
      else {
        this.#hooks.onCommandFailure?.(command);
        failed.push({ public_key: item.key, reason: `${command}: ${reasonOf(s)}` });
      }
    }
    return ok;
  }
}
