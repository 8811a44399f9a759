import {
  type AckFrame,
  type HelloFrame,
  type InterfaceFrame,
  type LiveFrame,
  MAX_ENTRIES_PER_FRAME,
  PROTOCOL_VERSION,
  type RemovedFrame,
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

export function liveFrames(keys: readonly string[]): LiveFrame[] {
  return chunk(keys, MAX_ENTRIES_PER_FRAME).map((part) => ({ type: "live", keys: part }));
}

export function interfaceFrame(
  provisioned: { publicKey: string; address: string },
  port: number,
  externalAddress: string,
): InterfaceFrame {
  return {
    type: "interface",
    public_key: provisioned.publicKey,
    port,
    address: externalAddress,
    link_address: provisioned.address,
  };
}
