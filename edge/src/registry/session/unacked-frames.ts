import type { EdgeFrame } from "@wgkex-edge/shared";

/**
 * What answers a frame the edge sends: an ack that reaches `seq` (a `peers` frame's last
 * entry, a snapshot page's head), or for a `verify` the agent's `verified`. Undefined for
 * frames nothing answers (welcome, error): they are small and one per hello, which the hello
 * budget bounds.
 */
export type Answer = { ack: number } | "verified" | undefined;

export function answerOf(frame: EdgeFrame): Answer {
  switch (frame.type) {
    case "peers": {
      const last = frame.entries[frame.entries.length - 1];
      return last === undefined ? undefined : { ack: last.seq };
    }
    case "snapshot":
      return { ack: frame.head };
    case "verify":
      return "verified";
    default:
      return undefined;
  }
}

interface Pending {
  /** Acks reaching this seq answer the frame (for a verify: acks beyond it). */
  seq: number;
  chars: number;
  verify: boolean;
}

/**
 * What the edge sent one socket and the agent has not answered yet, in characters of frame
 * text (ASCII JSON: bytes). workerd has no `bufferedAmount`, so this is the only sign of a
 * gateway that stopped reading: the runtime would otherwise buffer every frame for it.
 *
 * Acks are cumulative: an ack of `seq` answers every frame sent up to one whose seq it
 * reaches, and nothing sent after (an old or repeated ack frees nothing new). Frames go out
 * in ascending seq (a backlog, then live changes), so a queue in sending order is enough. A
 * `verify` carries no seq: it is answered by a `verified` (one answers every verify before
 * it: the agent takes them into one pass), or by an ack of a frame sent after it (an agent
 * that does not know `verify` read past it). Pure: no socket, no clock.
 */
export class UnackedFrames {
  private readonly limit: number;
  private pending: Pending[] = [];
  private first = 0;
  private owedChars = 0;
  private verifies = 0;
  private lastSeq = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Characters sent and not yet answered. */
  get owed(): number {
    return this.owedChars;
  }

  /**
   * A frame of `chars` characters is about to go out: counts it and says true, or says
   * false when it would put more than the limit on the socket unanswered. A frame is always
   * allowed when nothing is owed, so no frame size can stall an agent that keeps up.
   */
  sending(frame: EdgeFrame, chars: number): boolean {
    const answer = answerOf(frame);
    if (answer === undefined) return true;
    if (this.owedChars > 0 && this.owedChars + chars > this.limit) return false;
    const verify = answer === "verified";
    // Sending order is seq order; should it not be, a later frame waits for the higher seq.
    if (!verify) this.lastSeq = Math.max(this.lastSeq, answer.ack);
    this.pending.push({ seq: this.lastSeq, chars, verify });
    this.owedChars += chars;
    if (verify) this.verifies++;
    return true;
  }

  /** The agent acknowledged everything up to `seq`. */
  acked(seq: number): void {
    for (;;) {
      const next = this.pending[this.first];
      if (next === undefined || (next.verify ? next.seq >= seq : next.seq > seq)) break;
      this.drop(next);
      this.first++;
    }
    // Drop answered entries now and then: O(1) amortised, memory follows what is owed.
    if (this.first > 64 && this.first * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.first);
      this.first = 0;
    }
  }

  /** The agent answered the verifies it was sent. */
  verified(): void {
    if (this.verifies === 0) return;
    const kept: Pending[] = [];
    for (let i = this.first; i < this.pending.length; i++) {
      const p = this.pending[i]!;
      if (p.verify) this.drop(p);
      else kept.push(p);
    }
    this.pending = kept;
    this.first = 0;
  }

  private drop(p: Pending): void {
    this.owedChars -= p.chars;
    if (p.verify) this.verifies--;
  }
}
