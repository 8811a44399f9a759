import { type EdgeFrame, MAX_ENTRIES_PER_FRAME, type PeerEntry } from "@wgkex-edge/shared";
import type { CommittedLog } from "../log/change-log.ts";
import { replayOp } from "../log/peer-ops.ts";
import { stateOf } from "../log/registrations-table.ts";

export interface BacklogRequest {
  gateway: string;
  /** What the agent has installed, from its hello. */
  since: number;
  /** The agent asked for the full set. */
  wantSnapshot: boolean;
  head: number;
}

/**
 * How a gateway is brought up to date: a snapshot (the full desired set) when it asks for
 * one, has nothing (`since` 0), may have missed a removal no longer in the log (`since`
 * below the purged seq) or is ahead of the log (`since` > head: the edge's storage was
 * reset); else a replay of every change after `since`.
 */
export function backlogMode({ since, wantSnapshot, head }: BacklogRequest, purgedSeq: number): "snapshot" | "replay" {
  return wantSnapshot || since === 0 || since < purgedSeq || since > head ? "snapshot" : "replay";
}

/** The backlog's frames, in pages of at most 1,000 keys or entries, read from the committed log. */
export function* backlogFrames(
  log: CommittedLog,
  mode: "snapshot" | "replay",
  { gateway, since, head }: BacklogRequest,
): Generator<EdgeFrame> {
  if (mode === "snapshot") {
    let after = 0;
    for (;;) {
      const page = log.desiredPage(gateway, after, MAX_ENTRIES_PER_FRAME);
      const done = page.length < MAX_ENTRIES_PER_FRAME;
      const keys = page.map((r) => r.public_key);
      // Parker nodes carry their ranges; a batman-adv domain has none and sends keys only.
      yield page.some((r) => r.allowed_ips !== null)
        ? { type: "snapshot", head, keys, allowed_ips: page.map((r) => r.allowed_ips?.split(",") ?? []), done }
        : { type: "snapshot", head, keys, done };
      if (done) return;
      after = page.at(-1)!.seq;
    }
  }
  let after = since;
  for (;;) {
    const page = log.changesAfter(after, MAX_ENTRIES_PER_FRAME);
    if (page.length === 0) return;
    const entries: PeerEntry[] = page.map((r) => replayOp(r.seq, r.public_key, stateOf(r), gateway));
    yield { type: "peers", entries };
    after = page.at(-1)!.seq;
    if (page.length < MAX_ENTRIES_PER_FRAME) return;
  }
}
