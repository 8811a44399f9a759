import { linkLocal, MAX_ENTRIES_PER_FRAME, parseAgentFrame } from "@wgkex-edge/shared";
import { describe, expect, it } from "vitest";
import {
  ackFrame,
  adoptedFrames,
  helloFrame,
  interfaceFrame,
  liveFrames,
  removedFrames,
} from "../../src/edge/frames.ts";
import { publicKeys } from "../../testing/index.ts";

/** Every frame the agent builds must pass the edge's parser. */
const valid = (frame: unknown) => {
  const parsed = parseAgentFrame(JSON.stringify(frame));
  expect(parsed).toMatchObject({ ok: true });
};

describe("frames the agent sends", () => {
  it("hello asks for a snapshot only when it needs one", () => {
    const a = helloFrame("wgkex-agent/0.1.0", { since: 42, snapshot: false });
    expect(a).toEqual({ type: "hello", v: 1, agent: "wgkex-agent/0.1.0", since: 42 });
    const b = helloFrame("wgkex-agent/0.1.0", { since: 0, snapshot: true });
    expect(b).toEqual({ type: "hello", v: 1, agent: "wgkex-agent/0.1.0", since: 0, snapshot: true });
    valid(a);
    valid(b);
  });

  it("adopted keys go in pages of at most 1,000; nothing for an empty list", () => {
    const keys = publicKeys(2500, 63);
    const frames = adoptedFrames(keys);
    expect(frames.map((f) => f.keys.length)).toEqual([1000, 1000, 500]);
    expect(frames.flatMap((f) => f.keys)).toEqual(keys);
    for (const f of frames) valid(f);
    expect(adoptedFrames([])).toEqual([]);
  });

  it("ack carries failures within the protocol's limits: 1,000 entries, reasons of 500 characters", () => {
    expect(ackFrame(7, [])).toEqual({ type: "ack", seq: 7 });
    const keys = publicKeys(1500, 62);
    const ack = ackFrame(
      9,
      keys.map((public_key) => ({ public_key, reason: `wg: ${"x".repeat(600)}` })),
    );
    expect(ack.failed).toHaveLength(MAX_ENTRIES_PER_FRAME);
    expect(ack.failed![0]).toEqual({ public_key: keys[0], reason: `wg: ${"x".repeat(496)}` });
    valid(ack);
  });

  it("removed and live reports are paged by 1,000; nothing to report sends nothing", () => {
    const keys = publicKeys(2500, 63);
    const removed = removedFrames(
      keys.map((key) => ({ key, reason: "stale" })),
      1_800_000_000_000,
    );
    expect(removed.map((f) => f.entries.length)).toEqual([1000, 1000, 500]);
    expect(removed[2]!.entries.at(-1)).toEqual({ public_key: keys[2499], reason: "stale", at: 1_800_000_000_000 });
    expect(liveFrames(keys).map((f) => f.keys.length)).toEqual([1000, 1000, 500]);
    expect(liveFrames([])).toEqual([]);
    expect(removedFrames([], 1)).toEqual([]);
    for (const f of [...removed, ...liveFrames(keys)]) valid(f);
  });

  it("interface: what v2 answers send nodes to", () => {
    const [key] = publicKeys(1, 64);
    const address = linkLocal(key!, "wgkex");
    const frame = interfaceFrame({ publicKey: key!, address }, 40011, "gw01.ext.example.net");
    expect(frame).toEqual({
      type: "interface",
      public_key: key,
      port: 40011,
      address: "gw01.ext.example.net",
      link_address: address,
    });
    valid(frame);
  });
});
