import { describe, expect, it } from "vitest";
import {
  type AgentFrame,
  type EdgeFrame,
  gatewaySocketPath,
  MAX_ENTRIES_PER_FRAME,
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
    ["wrong version", JSON.stringify({ type: "hello", v: 2, agent: "x", since: 0 }), /v/],
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
      "too many entries",
      JSON.stringify({ type: "live", keys: Array.from({ length: MAX_ENTRIES_PER_FRAME + 1 }, () => key) }),
      /keys/,
    ],
  ];
  it.each(bad)("rejects %s with a reason naming the problem", (_name, text, reason) => {
    const result = parseAgentFrame(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
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
