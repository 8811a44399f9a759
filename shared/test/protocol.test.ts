import { describe, expect, it } from "vitest";
import {
  type AgentFrame,
  type EdgeFrame,
  gatewaySocketPath,
  MAX_ENTRIES_PER_FRAME,
  MAX_FRAME_CHARS,
  MAX_TIMESTAMP_MS,
  PROTOCOL_VERSION,
  parseAgentFrame,
  parseEdgeFrame,
} from "../src/index.ts";
import vectors from "./fixtures/vectors.json" with { type: "json" };

const key = vectors.lladdr[0]!.public_key;
const key2 = vectors.lladdr[1]!.public_key;

const validAgentFrames: AgentFrame[] = [
  { type: "hello", v: PROTOCOL_VERSION, agent: "wgkex-agent/0.1.0", since: 0 },
  { type: "hello", v: PROTOCOL_VERSION, agent: "wgkex-agent/0.1.0", since: 42, snapshot: true },
  { type: "ack", seq: 17 },
  { type: "ack", seq: 18, failed: [{ public_key: key, reason: "wg set: exit 1" }] },
  {
    type: "interface",
    public_key: key,
    port: 40011,
    address: "gw07.ext.ffmuc.net",
    link_address: "fe80::23b:d2ff:fe95:967f",
  },
  { type: "load", connected: 12, load: 40, peers: 30 },
  { type: "live", keys: [key, key2] },
  { type: "removed", entries: [{ public_key: key, reason: "stale", at: 1_700_000_000_000 }] },
  { type: "adopted", keys: [key, key2] },
];

const validEdgeFrames: EdgeFrame[] = [
  {
    type: "welcome",
    v: PROTOCOL_VERSION,
    domain: "ffmuc_welt",
    gateway: "gw01",
    mode: "replay",
    head: 9,
    variant: "wgkex",
  },
  {
    type: "peers",
    entries: [
      { seq: 1, public_key: key, op: "add" },
      { seq: 2, public_key: key2, op: "remove" },
    ],
  },
  { type: "snapshot", head: 9, keys: [key], done: false },
  { type: "snapshot", head: 9, keys: [], done: true },
  { type: "error", code: "unsupported_version", message: "protocol version 2 is not supported" },
];

describe("protocol frames", () => {
  it.each(validAgentFrames)("round-trips agent frame $type", (frame) => {
    expect(parseAgentFrame(JSON.stringify(frame))).toEqual({ ok: true, frame });
  });

  it.each(validEdgeFrames)("round-trips edge frame $type", (frame) => {
    expect(parseEdgeFrame(JSON.stringify(frame))).toEqual({ ok: true, frame });
  });

  it("does not accept edge frames from agents or agent frames from the edge", () => {
    for (const f of validEdgeFrames) expect(parseAgentFrame(JSON.stringify(f)).ok).toBe(false);
    for (const f of validAgentFrames) expect(parseEdgeFrame(JSON.stringify(f)).ok).toBe(false);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ["binary", new Uint8Array([1, 2]), /JSON text messages/],
    ["not JSON", "{nope", /not valid JSON/],
    ["unknown type", JSON.stringify({ type: "subscribe" }), /type/],
    ["a version that is no number", JSON.stringify({ type: "hello", v: "1", agent: "x", since: 0 }), /v/],
    ["negative seq", JSON.stringify({ type: "ack", seq: -1 }), /seq/],
    ["fractional seq", JSON.stringify({ type: "ack", seq: 1.5 }), /seq/],
    ["bad key in live", JSON.stringify({ type: "live", keys: ["x"] }), /keys\[0\].*canonical base64/s],
    ["key with newline", JSON.stringify({ type: "live", keys: [`${key}\n`] }), /keys/],
    ["extra field", JSON.stringify({ type: "ack", seq: 1, extra: true }), /extra/],
    ["port out of range", JSON.stringify({ ...validAgentFrames[4], port: 70000 }), /port/],
    ["non-link-local address", JSON.stringify({ ...validAgentFrames[4], link_address: "2001:db8::1" }), /link_address/],
    ["empty adopted", JSON.stringify({ type: "adopted", keys: [] }), /keys/],
    ["bad key in adopted", JSON.stringify({ type: "adopted", keys: [key, "nope"] }), /keys\[1\].*canonical base64/s],
    [
      "too many adopted keys",
      JSON.stringify({ type: "adopted", keys: Array.from({ length: MAX_ENTRIES_PER_FRAME + 1 }, () => key) }),
      /keys/,
    ],
    [
      "a removal time no date can hold",
      JSON.stringify({ type: "removed", entries: [{ public_key: key, reason: "x", at: Number.MAX_SAFE_INTEGER }] }),
      /entries\[0\]\.at/,
    ],
    [
      "too many entries",
      JSON.stringify({ type: "live", keys: Array.from({ length: MAX_ENTRIES_PER_FRAME + 1 }, () => key) }),
      /keys/,
    ],
  ];
  it.each(bad)("rejects %s with a reason naming the problem", (_name, text, reason) => {
    const result = parseAgentFrame(text);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe("bad_frame");
      expect(result.reason).toMatch(reason);
    }
  });

  it("answers a hello of another protocol version with unsupported_version, whatever else it carries", () => {
    for (const hello of [
      { type: "hello", v: 2, agent: "x", since: 0 },
      { type: "hello", v: 2, agent: "x", since: 0, resume_token: "a field version 1 does not know" },
      { type: "hello", v: 0 },
    ]) {
      expect(parseAgentFrame(JSON.stringify(hello))).toEqual({
        ok: false,
        code: "unsupported_version",
        reason: `protocol version ${hello.v} is not supported; this side speaks version ${PROTOCOL_VERSION}`,
      });
    }
  });

  it("refuses a frame longer than MAX_FRAME_CHARS before parsing it, and takes one of exactly that length", () => {
    const frame = (length: number) => {
      const base = JSON.stringify({ type: "load", connected: 1, load: 1, peers: 1 });
      return `${base.slice(0, -1)}${" ".repeat(length - base.length)}}`;
    };
    expect(parseAgentFrame(frame(MAX_FRAME_CHARS)).ok).toBe(true);
    expect(parseAgentFrame(frame(MAX_FRAME_CHARS + 1))).toEqual({
      ok: false,
      code: "bad_frame",
      reason: `frame is longer than ${MAX_FRAME_CHARS} characters`,
    });
  });

  it("takes removal times up to the last one an ISO date can show", () => {
    const removed = (at: number) =>
      JSON.stringify({ type: "removed", entries: [{ public_key: key, reason: "stale", at }] });
    expect(parseAgentFrame(removed(MAX_TIMESTAMP_MS)).ok).toBe(true);
    expect(new Date(MAX_TIMESTAMP_MS - 1).toISOString()).toBe("9999-12-31T23:59:59.999Z");
    expect(parseAgentFrame(removed(MAX_TIMESTAMP_MS + 1)).ok).toBe(false);
  });

  it("rejects an empty peers frame and an unknown op", () => {
    expect(parseEdgeFrame(JSON.stringify({ type: "peers", entries: [] })).ok).toBe(false);
    expect(
      parseEdgeFrame(JSON.stringify({ type: "peers", entries: [{ seq: 1, public_key: key, op: "move" }] })).ok,
    ).toBe(false);
  });

  it("builds the socket path with escaped names", () => {
    expect(gatewaySocketPath("gw01", "ffmuc_welt")).toBe("/api/v1/gateways/gw01/domains/ffmuc_welt/socket");
    expect(gatewaySocketPath("a/b", "c d")).toBe("/api/v1/gateways/a%2Fb/domains/c%20d/socket");
  });
});
