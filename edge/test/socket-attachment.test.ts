import { describe, expect, it } from "vitest";
import { parseAttachment } from "../src/registry/session/socket-attachment.ts";

describe("parseAttachment (pure): the one thing a socket carries across hibernation", () => {
  it("accepts what the object writes", () => {
    const a = { gateway: "gw01", state: "live", connectedAt: 1_700_000_000_000 };
    expect(parseAttachment(a)).toEqual(a);
    expect(parseAttachment({ ...a, state: "greeting" })?.state).toBe("greeting");
  });

  it("refuses anything else instead of trusting a cast", () => {
    for (const value of [
      null,
      undefined,
      "gw01",
      { gateway: "gw01", live: true, connectedAt: 1 },
      { gateway: "GW 1", state: "live", connectedAt: 1 },
      { gateway: "gw01", state: "open", connectedAt: 1 },
      { gateway: "gw01", state: "live", connectedAt: -1 },
    ]) {
      expect(parseAttachment(value)).toBeUndefined();
    }
  });
});
