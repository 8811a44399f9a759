import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ERROR_CODES,
  errorVerdict,
  isWelcomed,
  nextSessionState,
  SESSION_ERRORS,
  SESSION_STATES,
  type SessionEvent,
  type SessionState,
} from "../src/index.ts";

const EVENTS: SessionEvent[] = ["open", "welcome_replay", "welcome_snapshot", "snapshot_done", "close", "stop"];
const run = (events: SessionEvent[], from: SessionState = "closed") => events.reduce(nextSessionState, from);

describe("session states", () => {
  it("goes live after a replay welcome, or after the last snapshot page", () => {
    expect(run(["open"])).toBe("greeting");
    expect(run(["open", "welcome_replay"])).toBe("live");
    expect(run(["open", "welcome_snapshot"])).toBe("syncing");
    expect(run(["open", "welcome_snapshot", "snapshot_done"])).toBe("live");
  });

  it("a close from anywhere but stopped means closed, and the next open greets again", () => {
    for (const state of SESSION_STATES.filter((s) => s !== "stopped")) {
      expect(nextSessionState(state, "close")).toBe("closed");
    }
    expect(run(["open", "welcome_replay", "close", "open"])).toBe("greeting");
  });

  it("a snapshot page outside a snapshot welcome changes nothing", () => {
    expect(run(["open", "snapshot_done"])).toBe("greeting");
    expect(run(["open", "welcome_replay", "snapshot_done"])).toBe("live");
  });

  it("stopped is for good, whatever follows", () => {
    fc.assert(
      fc.property(fc.constantFrom(...SESSION_STATES), fc.array(fc.constantFrom(...EVENTS)), (from, events) => {
        expect(run(["stop", ...events], from)).toBe("stopped");
      }),
    );
  });

  it("frames from the agent count once it is welcomed", () => {
    expect(SESSION_STATES.filter(isWelcomed)).toEqual(["syncing", "live"]);
  });
});

describe("error verdicts", () => {
  it("every error code the protocol has carries a meaning", () => {
    expect(Object.keys(SESSION_ERRORS).sort()).toEqual([...ERROR_CODES].sort());
  });

  it("stops only where an operator must change something; yields to a newer socket or when over budget; else retries", () => {
    expect(ERROR_CODES.filter((c) => errorVerdict(c) === "stop").sort()).toEqual([
      "not_configured",
      "unsupported_version",
    ]);
    expect(ERROR_CODES.filter((c) => errorVerdict(c) === "yield").sort()).toEqual(["over_budget", "replaced"]);
    expect(ERROR_CODES.filter((c) => errorVerdict(c) === "retry").sort()).toEqual(["bad_frame", "internal"]);
  });

  it("close codes: 4000 for a replaced socket (docs/protocol.md), 1008 for a refused one", () => {
    expect(SESSION_ERRORS.replaced.closeCode).toBe(4000);
    expect(SESSION_ERRORS.bad_frame.closeCode).toBe(1008);
    expect(SESSION_ERRORS.not_configured.closeCode).toBe(1008);
  });
});
