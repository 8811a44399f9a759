import type { EdgeFrame } from "@wgkex-edge/shared";
import { describe, expect, it } from "vitest";
import { answerOf, UnackedFrames } from "../src/registry/session/unacked-frames.ts";

const KEY = "PcKkakZcTEx3LKh+G06Opb8/esg08aWK33A5/Ff1YXE=";
const peers = (...seqs: number[]): EdgeFrame => ({
  type: "peers",
  entries: seqs.map((seq) => ({ seq, public_key: KEY, op: "add" as const })),
});
const page = (head: number, done = false): EdgeFrame => ({ type: "snapshot", head, keys: [KEY], done });
const verify: EdgeFrame = { type: "verify", keys: [KEY] };

describe("what answers a frame (pure)", () => {
  it("a peers frame an ack of its last entry's seq, a snapshot page one of its head, a verify a verified; welcome and error nothing", () => {
    expect(answerOf(peers(4, 5, 9))).toEqual({ ack: 9 });
    expect(answerOf(page(12, true))).toEqual({ ack: 12 });
    expect(answerOf(verify)).toBe("verified");
    expect(
      answerOf({ type: "welcome", v: 1, domain: "d", gateway: "gw01", mode: "replay", head: 3, variant: "wgkex" }),
    ).toBeUndefined();
    expect(answerOf({ type: "error", code: "internal", message: "x" })).toBeUndefined();
  });
});

describe("frames sent and not acknowledged (pure)", () => {
  it("refuses the frame that would pass the limit; an ack reaching a frame's seq frees it", () => {
    const unacked = new UnackedFrames(250);
    expect(unacked.sending(peers(1), 100)).toBe(true);
    expect(unacked.sending(peers(2, 3), 100)).toBe(true);
    expect(unacked.sending(peers(4), 100)).toBe(false);
    expect(unacked.owed).toBe(200);
    unacked.acked(2); // the second frame's last entry is 3: only the first is answered
    expect(unacked.owed).toBe(100);
    unacked.acked(3);
    expect(unacked.owed).toBe(0);
    expect(unacked.sending(peers(4), 100)).toBe(true);
  });

  it("an old or repeated ack frees nothing sent after it (acking seq 0 does not reset the count)", () => {
    const unacked = new UnackedFrames(1000);
    unacked.sending(peers(10), 100);
    unacked.acked(10);
    unacked.sending(peers(11), 100);
    unacked.sending(peers(12), 100);
    unacked.acked(0);
    unacked.acked(10);
    expect(unacked.owed).toBe(200);
  });

  it("a snapshot's pages are answered together by the ack of its head", () => {
    const unacked = new UnackedFrames(1000);
    for (let i = 0; i < 3; i++) unacked.sending(page(40), 100);
    unacked.sending(page(40, true), 50);
    unacked.sending(peers(41), 60);
    unacked.acked(39);
    expect(unacked.owed).toBe(410);
    unacked.acked(40);
    expect(unacked.owed).toBe(60);
  });

  it("does not count frames nothing answers, and always lets a frame out when nothing is owed", () => {
    const unacked = new UnackedFrames(100);
    expect(unacked.sending({ type: "error", code: "internal", message: "x" }, 500)).toBe(true);
    expect(unacked.owed).toBe(0);
    expect(unacked.sending(peers(1), 500)).toBe(true);
    expect(unacked.sending(peers(2), 1)).toBe(false);
  });

  it("a frame sent out of seq order waits for the highest seq sent before it", () => {
    const unacked = new UnackedFrames(1000);
    unacked.sending(peers(20), 100);
    unacked.sending(peers(15), 100);
    unacked.acked(15);
    expect(unacked.owed).toBe(200);
    unacked.acked(20);
    expect(unacked.owed).toBe(0);
  });

  it("a verify is answered by a verified, or by an ack of a frame sent after it (an agent that ignores verify)", () => {
    const unacked = new UnackedFrames(1000);
    unacked.sending(peers(5), 100);
    unacked.sending(verify, 30);
    unacked.sending(verify, 30);
    unacked.acked(5); // the frame before the verifies: they stay owed
    expect(unacked.owed).toBe(60);
    unacked.verified();
    expect(unacked.owed).toBe(0);
    unacked.verified(); // nothing left to answer: nothing changes
    unacked.sending(verify, 30);
    unacked.sending(peers(6), 100);
    unacked.acked(6);
    expect(unacked.owed).toBe(0);
  });

  it("a verified answers verifies only: the peers frames around them still wait for their ack", () => {
    const unacked = new UnackedFrames(1000);
    unacked.sending(peers(1), 100);
    unacked.sending(verify, 30);
    unacked.sending(peers(2), 100);
    unacked.verified();
    expect(unacked.owed).toBe(200);
    unacked.acked(1);
    expect(unacked.owed).toBe(100);
    unacked.acked(2);
    expect(unacked.owed).toBe(0);
  });

  it("keeps memory to what is owed over a long session", () => {
    const unacked = new UnackedFrames(1_000_000);
    for (let seq = 1; seq <= 100_000; seq++) {
      unacked.sending(peers(seq), 10);
      if (seq % 10 === 0) unacked.acked(seq);
    }
    expect(unacked.owed).toBe(0);
    expect((unacked as unknown as { pending: unknown[] }).pending.length).toBeLessThanOrEqual(130);
  });
});
