import type { EdgeFrame } from "@wgkex-edge/shared";

/**
 * The `seq` an ack must reach to answer a frame: a `peers` frame's last entry, a snapshot
 * page's head. Undefined for frames nothing answers (welcome, error): they are small and
 * one per hello, which the hello budget bounds.
 */
export function answeredAt(frame: EdgeFrame): number | undefined {
  switch (frame.type) {
    case "peers":
      return frame.entries[frame.entries.length - 1]?.seq;
    case "snapshot":
      return frame.head;
    default:
      return undefined;
  }
}

/**
 * What the edge sent one socket and the agent has not acknowledged yet, in characters of
 * frame text (ASCII JSON: bytes). workerd has no `bufferedAmount`, so this is the only sign
 * of a gateway that stopped reading: the runtime would otherwise buffer every frame for it.
 *
 * Acks are cumulative: an ack of `seq` answers every frame sent up to one whose seq it
 * reaches, and nothing sent after (an old or repeated ack frees nothing new). Frames are
 * sent in ascending seq (a backlog, then live changes), so a queue in sending order is
 * enough. Pure: no socket, no clock.
 */
export class UnackedFrames {
  private readonly limit: number;
  private readonly pending: Array<{ seq: number; chars: number }> = [];
  private first = 0;
  private owedChars = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Characters sent and not yet acknowledged. */
  get owed(): number {
    return this.owedChars;
  }

  /**
   * A frame of `chars` characters is about to go out: counts it and says true, or says
   * false when it would put more than the limit on the socket unanswered. A frame is always
   * allowed when nothing is owed, so no frame size can stall an agent that keeps up.
   */
  sending(frame: EdgeFrame, chars: number): boolean {
    const seq = answeredAt(frame);
    if (seq === undefined) return true;
    if (this.owedChars > 0 && this.owedChars + chars > this.limit) return false;
    // Sending order is seq order; should it not be, a later frame waits for the higher seq.
    const last = this.pending[this.pending.length - 1]?.seq ?? 0;
    this.pending.push({ seq: Math.max(seq, last), chars });
    this.owedChars += chars;
    return true;
  }

  /** The agent acknowledged everything up to `seq`. */
  acked(seq: number): void {
    while (this.first < this.pending.length && this.pending[this.first]!.seq <= seq) {
      this.owedChars -= this.pending[this.first]!.chars;
      this.first++;
    }
    // Drop answered entries now and then: O(1) amortised, memory follows what is owed.
    if (this.first > 64 && this.first * 2 > this.pending.length) {
      this.pending.splice(0, this.first);
      this.first = 0;
    }
  }
}
