import {
  type AckFrame,
  type AdoptedFrame,
  type HelloFrame,
  type InterfaceFrame,
  type LiveFrame,
  MAX_ENTRIES_PER_FRAME,
  PROTOCOL_VERSION,
  type RemovedFrame,
  type VerifiedFrame,
} from "@wgkex-edge/shared";
import { chunk } from "../dataplane/batch.ts";
import type { Failure } from "../dataplane/peers.ts";

/** Pure builders of what the agent sends, within the protocol's limits (entries per frame, reason length). */

const REASON_MAX = 500;

export function helloFrame(agent: string, cursor: { since: number; snapshot: boolean }): HelloFrame {
  const hello: HelloFrame = { type: "hello", v: PROTOCOL_VERSION, agent, since: cursor.since };
  if (cursor.snapshot) hello.snapshot = true;
  return hello;
}

/** Everything up to `seq` is installed except `failed` (the first 1,000 of them). */
export function ackFrame(seq: number, failed: readonly Failure[]): AckFrame {
  const ack: AckFrame = { type: "ack", seq };
  if (failed.length > 0) {
    ack.failed = failed
      .slice(0, MAX_ENTRIES_PER_FRAME)
      .map((f) => ({ public_key: f.public_key, reason: f.reason.slice(0, REASON_MAX) }));
  }
  return ack;
}

export function removedFrames(entries: ReadonlyArray<{ key: string; reason: string }>, at: number): RemovedFrame[] {
  return chunk(entries, MAX_ENTRIES_PER_FRAME).map((part) => ({
    type: "removed",
    entries: part.map((e) => ({ public_key: e.key, reason: e.reason, at })),
  }));
}

/** The answer to `verify`, in frames within the limits (a coalesced pass may answer more than 1,000 keys). */
export function verifiedFrames(outcome: {
  ok: number;
  repaired: readonly string[];
  failed: readonly Failure[];
}): VerifiedFrame[] {
  const max = MAX_ENTRIES_PER_FRAME;
  const count = Math.max(
    1,
    Math.ceil(outcome.ok / max),
    Math.ceil(outcome.repaired.length / max),
    Math.ceil(outcome.failed.length / max),
  );
  return Array.from({ length: count }, (_, i) => {
    const failed = outcome.failed.slice(i * max, (i + 1) * max);
    const frame: VerifiedFrame = {
      type: "verified",
      ok: Math.min(max, Math.max(0, outcome.ok - i * max)),
      repaired: outcome.repaired.slice(i * max, (i + 1) * max),
    };
    if (failed.length > 0)
      frame.failed = failed.map((f) => ({ public_key: f.public_key, reason: f.reason.slice(0, REASON_MAX) }));
    return frame;
  });
}

export function liveFrames(keys: readonly string[]): LiveFrame[] {
  return chunk(keys, MAX_ENTRIES_PER_FRAME).map((part) => ({ type: "live", keys: part }));
}

export function interfaceFrame(
  provisioned: { publicKey: string; address: string; address4?: string | undefined },
  port: number,
  externalAddress: string,
): InterfaceFrame {
  const frame: InterfaceFrame = {
    type: "interface",
    public_key: provisioned.publicKey,
    port,
    address: externalAddress,
    link_address: provisioned.address,
  };
  // Parker: the nodes' IPv4 next hop.
  if (provisioned.address4 !== undefined) frame.address4 = provisioned.address4;
  return frame;
}

/** Peers found on the interface, pages of at most 1,000 keys (an empty list sends nothing). */
export function adoptedFrames(keys: readonly string[]): AdoptedFrame[] {
  return chunk(keys, MAX_ENTRIES_PER_FRAME).map((part) => ({ type: "adopted", keys: part }));
}
