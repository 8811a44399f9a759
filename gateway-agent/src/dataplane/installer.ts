import type { ProgramResult } from "./peers.ts";

/**
 * What applying the edge's changes needs of a domain's data plane, whatever its kind: a
 * batman-adv domain derives everything from the key (PeerProgrammer); a Parker domain
 * installs the ranges the edge sent with each key (ParkerInstaller).
 */
export interface PeerInstaller {
  /** `ranges`: per key, its ranges (Parker); ignored by batman-adv domains. */
  install(keys: readonly string[], ranges?: ReadonlyMap<string, readonly string[]>): Promise<ProgramResult>;
  remove(keys: readonly string[]): Promise<ProgramResult>;
}
