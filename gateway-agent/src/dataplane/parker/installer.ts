import type { Failure } from "../batch.ts";
import type { PeerInstaller } from "../installer.ts";
import type { WgDump } from "../observe.ts";
import type { ProgramResult } from "../peers.ts";
import type { ParkerPeerProgrammer } from "./peers.ts";

/**
 * A Parker domain's PeerInstaller: keys come with their ranges from the edge; a removal
 * un-routes the ranges the peer holds on the interface (read from `wg show dump`). The
 * ranges last installed are remembered in memory only, so that reconcile can put back a
 * desired peer that went missing (an interface recreated empty, a peer deleted by hand);
 * after a restart they are learnt again from the peers found installed.
 */
export class ParkerInstaller implements PeerInstaller {
  readonly #programmer: ParkerPeerProgrammer;
  readonly #installed: () => Promise<WgDump | undefined>;
  readonly #ranges = new Map<string, readonly string[]>();

  constructor(programmer: ParkerPeerProgrammer, installed: () => Promise<WgDump | undefined>) {
    this.#programmer = programmer;
    this.#installed = installed;
  }

  get programmer(): ParkerPeerProgrammer {
    return this.#programmer;
  }

  install(keys: readonly string[], ranges?: ReadonlyMap<string, readonly string[]>): Promise<ProgramResult> {
    const missing: Failure[] = [];
    const peers = keys.flatMap((key) => {
      const own = ranges?.get(key);
      if (own !== undefined) return [{ key, ranges: own }];
      missing.push({ public_key: key, reason: "parker: the edge sent no ranges for the node" });
      return [];
    });
    return this.#programmer.install(peers).then((r) => {
      const done = new Set(r.done);
      for (const peer of peers) if (done.has(peer.key)) this.#ranges.set(peer.key, peer.ranges);
      return { done: r.done, failed: [...missing, ...r.failed] };
    });
  }

  async remove(keys: readonly string[]): Promise<ProgramResult> {
    const dump = await this.#installed();
    const current = new Map((dump?.peers ?? []).map((p) => [p.key, p.allowedIps] as const));
    const r = await this.#programmer.remove(keys, current);
    for (const key of r.done) this.#ranges.delete(key);
    return r;
  }

  /** Peers found installed with ranges: remembered (an agent that restarted knows none yet). */
  learn(dump: WgDump): void {
    for (const peer of dump.peers) {
      if (peer.allowedIps.length > 0 && !this.#ranges.has(peer.key)) this.#ranges.set(peer.key, peer.allowedIps);
    }
  }

  /** Of these missing keys, the ones whose ranges are known, with them: reconcile installs them again. */
  reinstallable(keys: readonly string[]): { install: string[]; ranges: Map<string, readonly string[]> } {
    const ranges = new Map<string, readonly string[]>();
    for (const key of keys) {
      const known = this.#ranges.get(key);
      if (known !== undefined) ranges.set(key, known);
    }
    return { install: [...ranges.keys()], ranges };
  }
}
