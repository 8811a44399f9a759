import { describe, expect, it } from "vitest";
import { backlogMode } from "../src/registry/session/backlog.ts";

const request = (since: number, wantSnapshot = false) => ({ gateway: "gw01", since, wantSnapshot, head: 100 });

describe("backlogMode (pure): how a hello is answered", () => {
  it("replays what a gateway missed when the log still holds all of it", () => {
    expect(backlogMode(request(40), 0)).toBe("replay");
    expect(backlogMode(request(100), 0)).toBe("replay");
    expect(backlogMode(request(40), 40)).toBe("replay");
  });

  it("sends a snapshot when asked, for since 0, below the purged seq, or beyond head", () => {
    expect(backlogMode(request(40, true), 0)).toBe("snapshot");
    expect(backlogMode(request(0), 0)).toBe("snapshot");
    expect(backlogMode(request(39), 40)).toBe("snapshot");
    expect(backlogMode(request(101), 0)).toBe("snapshot");
  });
});
