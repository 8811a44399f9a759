import { parseEdgeFrame } from "@wgkex-edge/shared";
import { describe, expect, it } from "vitest";
import { salvageFrame } from "../../src/edge/salvage.ts";
import { publicKeys } from "../../testing/index.ts";

const [a, b] = publicKeys(2, 140) as [string, string];

/** What the session does with text the shared schema refused. */
const salvage = (frame: unknown) => {
  const text = JSON.stringify(frame);
  const parsed = parseEdgeFrame(text);
  expect(parsed.ok).toBe(false);
  return salvageFrame(text, parsed.ok ? "" : parsed.reason);
};

describe("salvaging a frame the schema refused", () => {
  it("peers: entries that parse are applied, the ones with a seq and a key but an unknown op or field are reported", () => {
    expect(
      salvage({
        type: "peers",
        entries: [
          { seq: 5, public_key: a, op: "add" },
          { seq: 6, public_key: b, op: "verify" },
          { seq: 7, public_key: a, op: "remove", ttl: 1, why: "x" },
          { seq: 8, public_key: b },
        ],
      }),
    ).toEqual({
      kind: "peers",
      entries: [{ seq: 5, public_key: a, op: "add" }],
      unapplied: [
        { seq: 6, public_key: b, reason: 'not applied: this agent does not know op "verify" (upgrade wgkex-agent)' },
        {
          seq: 7,
          public_key: a,
          reason: "not applied: this agent does not know fields ttl, why (upgrade wgkex-agent)",
        },
        { seq: 8, public_key: b, reason: "not applied: this agent does not know op (none) (upgrade wgkex-agent)" },
      ],
    });
  });

  it("a frame-level field this agent does not know does not cost the entries", () => {
    expect(salvage({ type: "peers", entries: [{ seq: 1, public_key: a, op: "add" }], epoch: 3 })).toEqual({
      kind: "peers",
      entries: [{ seq: 1, public_key: a, op: "add" }],
      unapplied: [],
    });
  });

  it("an entry without a valid seq or key, or no entries at all: lost (the session starts over)", () => {
    for (const entries of [
      [{ seq: 1, public_key: "not a key", op: "add" }],
      [{ seq: -1, public_key: a, op: "add" }],
      [{ seq: 1.5, public_key: a, op: "add" }],
      [{ public_key: a, op: "add" }],
      [null],
      [],
    ]) {
      expect(salvage({ type: "peers", entries }).kind, JSON.stringify(entries)).toBe("lost");
    }
    expect(salvageFrame("{not json", "frame is not valid JSON")).toEqual({
      kind: "lost",
      why: "frame is not valid JSON",
    });
  });

  it("a snapshot page that does not parse is lost: the set would be incomplete", () => {
    expect(salvage({ type: "snapshot", head: 3, keys: ["x"], done: false })).toMatchObject({ kind: "lost" });
  });

  it("a frame type this agent does not know carries nothing of the set: ignored", () => {
    expect(salvage({ type: "rekey", keys: [a] })).toEqual({ kind: "ignore" });
    expect(salvage({ type: "error", code: "too_new", message: "x" })).toEqual({ kind: "ignore" });
  });
});
