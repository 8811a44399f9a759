import type { PeerEntry } from "@wgkex-edge/shared";

/**
 * Target of a registration: every gateway of the domain (v1), the one v2 chose, or the
 * concentrators Parker chose, comma-separated (gateway names have no commas).
 */
export const ALL_GATEWAYS = "*";

export interface RegistrationState {
  readonly target: string;
  readonly removed: boolean;
  /** Parker: the node's ranges, which the gateways install as allowed-ips and routes. */
  readonly allowedIps?: readonly string[] | undefined;
}

export const targetsOf = (target: string): string[] => target.split(",");

export const includes = (state: RegistrationState | undefined, gateway: string): boolean =>
  state !== undefined &&
  !state.removed &&
  (state.target === ALL_GATEWAYS || state.target === gateway || targetsOf(state.target).includes(gateway));

const add = (seq: number, publicKey: string, state: RegistrationState): PeerEntry =>
  state.allowedIps === undefined
    ? { seq, public_key: publicKey, op: "add" }
    : { seq, public_key: publicKey, op: "add", allowed_ips: [...state.allowedIps] };

/** One change of the desired set, as it happened: what the key was before and is now. */
export interface Change {
  readonly seq: number;
  readonly publicKey: string;
  readonly before: RegistrationState | undefined;
  readonly after: RegistrationState;
}

/** What a live gateway must do for a change: add, remove, or nothing (it never had it). */
export function liveOp(change: Change, gateway: string): PeerEntry | undefined {
  if (includes(change.after, gateway)) return add(change.seq, change.publicKey, change.after);
  if (includes(change.before, gateway)) return { seq: change.seq, public_key: change.publicKey, op: "remove" };
  return undefined;
}

/**
 * What a resuming gateway must do for a row: we do not know what it had, so a key that is
 * not (or no longer) its own is a remove, which is harmless when it never had it.
 */
export function replayOp(seq: number, publicKey: string, state: RegistrationState, gateway: string): PeerEntry {
  return includes(state, gateway) ? add(seq, publicKey, state) : { seq, public_key: publicKey, op: "remove" };
}

/** Entries for one gateway from a batch of changes, split into frames of at most `max`. */
export function framesFor(changes: readonly Change[], gateway: string, max: number): PeerEntry[][] {
  const frames: PeerEntry[][] = [];
  let current: PeerEntry[] = [];
  for (const change of changes) {
    const op = liveOp(change, gateway);
    if (op === undefined) continue;
    current.push(op);
    if (current.length === max) {
      frames.push(current);
      current = [];
    }
  }
  if (current.length > 0) frames.push(current);
  return frames;
}
