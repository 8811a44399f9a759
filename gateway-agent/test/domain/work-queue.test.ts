import type { PeerEntry } from "@wgkex-edge/shared";
import { describe, expect, it } from "vitest";
import type { Clock } from "../../src/clock.ts";
import { BATCH_MAX_ENTRIES, COALESCE_MS, type Job, WorkQueue } from "../../src/domain/work-queue.ts";

/** A clock whose timers fire only when the test moves time forward. */
class ManualClock implements Clock {
  t = 1_000;
  #timers: Array<{ at: number; fn: () => void; id: number }> = [];
  #next = 0;
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = ++this.#next;
    this.#timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (h: unknown) => {
    this.#timers = this.#timers.filter((x) => x.id !== h);
  };
  setInterval = () => 0;
  clearInterval = () => {};
  get pending(): number {
    return this.#timers.length;
  }
  advance(ms: number): void {
    this.t += ms;
    const due = this.#timers.filter((x) => x.at <= this.t);
    this.#timers = this.#timers.filter((x) => x.at > this.t);
    for (const x of due) x.fn();
  }
}

const settle = () => new Promise<void>((r) => setImmediate(r));
const entries = (from: number, n: number): PeerEntry[] =>
  Array.from({ length: n }, (_, i) => ({ seq: from + i, public_key: `k${from + i}`, op: "add" }));

function harness() {
  const clock = new ManualClock();
  const ran: Array<Exclude<Job, { kind: "task" }>> = [];
  const errors: string[] = [];
  let gate: Promise<void> | undefined;
  let afterBatches = 0;
  const queue = new WorkQueue({
    clock,
    runBatch: async (job) => {
      ran.push(job);
      if (gate) await gate;
    },
    afterBatches: async () => {
      afterBatches++;
    },
    onError: (job, e) => errors.push(`${job}: ${(e as Error).message}`),
  });
  const hold = () => {
    let open!: () => void;
    gate = new Promise<void>((r) => {
      open = () => {
        gate = undefined;
        r();
      };
    });
    return open;
  };
  return { clock, ran, errors, queue, hold, afterBatches: () => afterBatches };
}

describe("the domain's work queue", () => {
  it("frames within the coalescing window become one batch, after one timer on the injected clock", async () => {
    const h = harness();
    h.queue.peers(entries(1, 1), 1_000);
    h.queue.peers(entries(2, 2), 1_005);
    await settle();
    expect(h.ran).toEqual([]);
    expect(h.clock.pending).toBe(1);
    h.clock.advance(COALESCE_MS - 1);
    await settle();
    expect(h.ran).toEqual([]);
    h.clock.advance(1);
    await h.queue.idle();
    expect(h.ran).toEqual([{ kind: "peers", entries: entries(1, 3), unapplied: [], receivedAt: [1_000, 1_005] }]);
    expect(h.clock.pending).toBe(0);
    expect(h.afterBatches()).toBe(1);
  });

  it("a full batch does not wait for the window", async () => {
    const h = harness();
    h.queue.peers(entries(1, 1), 0);
    h.queue.peers(entries(2, BATCH_MAX_ENTRIES), 0);
    await h.queue.idle();
    expect(h.ran).toHaveLength(1);
    expect(h.ran[0]!.kind === "peers" && h.ran[0]!.entries.length).toBe(BATCH_MAX_ENTRIES + 1);
    expect(h.clock.pending).toBe(0);
  });

  it("frames arriving while a batch runs join the next batch, which starts at once", async () => {
    const h = harness();
    const release = h.hold();
    h.queue.snapshot(["a"], 5, 0); // no window for a snapshot
    await settle();
    expect(h.ran.map((j) => j.kind)).toEqual(["snapshot"]);
    for (let i = 6; i < 9; i++) h.queue.peers(entries(i, 1), i);
    release();
    await h.queue.idle();
    expect(h.ran.map((j) => (j.kind === "peers" ? j.entries.length : j.kind))).toEqual(["snapshot", 3]);
  });

  it("tasks run in turn between batches and settle with their result; a failure is reported and the queue goes on", async () => {
    const h = harness();
    const order: string[] = [];
    const first = h.queue.task("first", async () => {
      order.push("first");
      return 1;
    });
    const bad = h.queue.task("bad", async () => {
      throw new Error("no");
    });
    const second = h.queue.task("second", async () => {
      order.push("second");
      return 2;
    });
    expect(await first).toBe(1);
    await expect(bad).rejects.toThrow("no");
    expect(await second).toBe(2);
    expect(order).toEqual(["first", "second"]);
    expect(h.errors).toEqual(["bad: no"]);
    expect(h.afterBatches()).toBe(0); // tasks only
  });

  it("stop finishes the job in flight, drops the rest and cuts a coalescing wait short", async () => {
    const h = harness();
    const release = h.hold();
    h.queue.snapshot([], 1, 0);
    h.queue.snapshot([], 2, 0);
    await settle();
    const stopped = h.queue.stop();
    release();
    await stopped;
    expect(h.ran.map((j) => j.kind === "snapshot" && j.head)).toEqual([1]);

    const w = harness();
    w.queue.peers(entries(1, 1), 0);
    await settle();
    await w.queue.stop(); // no clock advance needed
    expect(w.ran).toEqual([]);
    expect(w.clock.pending).toBe(0);
  });

  it("entries a frame could not apply travel with its batch", async () => {
    const h = harness();
    const unapplied = [{ seq: 2, public_key: "k2", reason: "not applied" }];
    h.queue.peers(entries(1, 1), 0, unapplied);
    h.queue.peers(entries(3, 1), 0);
    h.clock.advance(COALESCE_MS);
    await h.queue.idle();
    expect(h.ran).toEqual([
      { kind: "peers", entries: [...entries(1, 1), ...entries(3, 1)], unapplied, receivedAt: [0, 0] },
    ]);
  });

  it("dropBatches (the session starts over) drops queued batches and snapshots, keeps tasks and the job in flight", async () => {
    const h = harness();
    const release = h.hold();
    h.queue.snapshot([], 1, 0);
    await settle();
    const task = h.queue.task("reconcile", async () => "done");
    h.queue.peers(entries(2, 1), 0);
    h.queue.snapshot([], 3, 0);
    expect(h.queue.dropBatches()).toBe(2);
    release();
    expect(await task).toBe("done");
    await h.queue.idle();
    expect(h.ran.map((j) => j.kind === "snapshot" && j.head)).toEqual([1]);
  });

  it("kill drops everything at once", async () => {
    const h = harness();
    h.queue.peers(entries(1, 1), 0);
    h.queue.kill();
    await h.queue.idle();
    h.queue.snapshot([], 1, 0);
    await settle();
    expect(h.ran).toEqual([]);
    expect(h.queue.killed).toBe(true);
  });
});
