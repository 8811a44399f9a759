import { describe, expect, it } from "vitest";
import { parseAgentFrame, parseEdgeFrame } from "../src/index.ts";

const KEY = "JbXXLRBd5VaAwlYN0v9OB79DY+9Mm51LvgXZaXf7EUU=";
const edge = (frame: unknown) => parseEdgeFrame(JSON.stringify(frame));

describe("Parker's optional protocol fields", () => {
  it("a welcome may name the Parker dataplane, nothing else", () => {
    const welcome = { type: "welcome", v: 1, domain: "d", gateway: "gw01", mode: "replay", head: 3, variant: "wgkex" };
    expect(edge({ ...welcome, dataplane: "parker" }).ok).toBe(true);
    expect(edge(welcome).ok).toBe(true);
    expect(edge({ ...welcome, dataplane: "routed" })).toMatchObject({ ok: false, reason: /dataplane/ });
  });

  it("peers entries and snapshots carry a node's ranges, one list per key", () => {
    const ranges = ["2001:db8:100:1::/64", "10.0.1.0/24"];
    expect(edge({ type: "peers", entries: [{ seq: 1, public_key: KEY, op: "add", allowed_ips: ranges }] }).ok).toBe(
      true,
    );
    expect(edge({ type: "peers", entries: [{ seq: 1, public_key: KEY, op: "add", allowed_ips: [] }] }).ok).toBe(false);
    expect(edge({ type: "peers", entries: [{ seq: 1, public_key: KEY, op: "add", allowed_ips: ["x"] }] }).ok).toBe(
      false,
    );
    expect(edge({ type: "snapshot", head: 1, keys: [KEY], allowed_ips: [ranges], done: true }).ok).toBe(true);
    expect(edge({ type: "snapshot", head: 1, keys: [KEY], allowed_ips: [], done: true })).toMatchObject({
      ok: false,
      reason: "allowed_ips: allowed_ips must have one entry per key",
    });
  });

  it("an interface frame may carry the concentrator's IPv4, canonical", () => {
    const frame = { type: "interface", public_key: KEY, port: 1, address: "gw", link_address: "fe80::1" };
    expect(parseAgentFrame(JSON.stringify({ ...frame, address4: "10.255.255.1" })).ok).toBe(true);
    for (const bad of ["999.1.1.1", "010.0.0.1", "fe80::2"]) {
      expect(parseAgentFrame(JSON.stringify({ ...frame, address4: bad })).ok, bad).toBe(false);
    }
  });
});
