import { describe, expect, it } from "vitest";
import { decideStale, loadCounts, planCleanup, recentPeers } from "../../src/dataplane/cleanup.ts";
import type { WgPeer } from "../../src/dataplane/observe.ts";
import { publicKeys } from "../../testing/index.ts";

describe("stale cleanup decision", () => {
  const [a, b, c, d, s] = publicKeys(5, 9);
  const now = 1_800_000_000_000;
  const nowS = now / 1000;
  const policy = { staleAfterS: 10_800, graceS: 600 };
  const peer = (key: string, latestHandshake: number): WgPeer => ({
    key,
    endpoint: undefined,
    allowedIps: [],
    latestHandshake,
  });

  it("removes by handshake age and after the grace period, never static peers", () => {
    const decision = decideStale(
      [
        peer(a!, nowS - 10_801), // stale
        peer(b!, nowS - 100), // fresh
        peer(c!, 0), // never handshaked, installed 601 s ago
        peer(d!, 0), // never handshaked, unseen so far
        peer(s!, nowS - 99_999), // static: kept
      ],
      now,
      new Map([
        [c!, now - 601_000],
        [b!, now - 5000],
      ]),
      new Set([s!]),
      policy,
    );
    expect(decision.remove.map((r) => r.key)).toEqual([a, c]);
    expect(decision.remove[0]!.reason).toBe("stale: last handshake 10801 s ago (limit 10800 s)");
    expect(decision.remove[1]!.reason).toBe("stale: no handshake within 600 s of installation");
    expect(decision.firstSeen).toEqual([d]);
    expect(decision.forget).toEqual([b]);
  });

  it("keeps a peer within the grace period and at exactly the limit", () => {
    const decision = decideStale(
      [peer(a!, 0), peer(b!, nowS - 10_800)],
      now,
      new Map([[a!, now - 600_000]]),
      new Set(),
      policy,
    );
    expect(decision.remove).toEqual([]);
  });

  it("counts connected and live peers without static ones", () => {
    const peers = [peer(a!, nowS - 10), peer(b!, nowS - 181), peer(c!, 0), peer(s!, nowS - 1)];
    expect(recentPeers(peers, now, 180, new Set([s!]))).toEqual([a]);
    expect(recentPeers(peers, now, 10_800, new Set([s!]))).toEqual([a, b]);
  });

  it("plans first_seen around the decision: remember new keys, forget handshaked and uninstalled ones", () => {
    const plan = planCleanup(
      [peer(a!, 0), peer(b!, nowS - 100), peer(c!, 0), peer(s!, 0)],
      now,
      { [b!]: now - 5000, [c!]: now - 601_000, [d!]: now - 1000 },
      new Set([s!]),
      policy,
    );
    expect(plan.remove.map((r) => r.key)).toEqual([c]);
    expect(plan.remember).toEqual([a]);
    expect([...plan.forget].sort()).toEqual([b!, d!].sort()); // b handshaked, d is not installed any more
  });

  it("load figures: recent node peers, and node peers installed, static peers left out", () => {
    const peers = [peer(a!, nowS - 10), peer(b!, nowS - 181), peer(c!, 0), peer(s!, nowS - 1)];
    expect(loadCounts(peers, now, 180, new Set([s!]))).toEqual({ connected: 1, peers: 3 });
  });
});
