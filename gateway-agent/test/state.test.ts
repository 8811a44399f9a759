import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { emptyState, firstSeenFile, readState, stateFile, writeFirstSeen, writeState } from "../src/state.ts";
import { tempDir } from "../testing/index.ts";

describe("state files", () => {
  it("keeps the per-batch record small: first_seen lives in its own file", () => {
    const dir = tempDir();
    const firstSeen = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`key${i}`, i]));
    writeState(dir, "ffmuc_welt", { ...emptyState(), applied_seq: 42, first_seen: firstSeen });
    const small = readFileSync(stateFile(dir, "ffmuc_welt"), "utf8");
    expect(small.length).toBeLessThan(300);
    expect(small).not.toContain("first_seen");
    expect(existsSync(firstSeenFile(dir, "ffmuc_welt"))).toBe(false);

    writeFirstSeen(dir, "ffmuc_welt", firstSeen);
    const state = readState(dir, "ffmuc_welt");
    expect(state?.applied_seq).toBe(42);
    expect(state?.first_seen).toEqual(firstSeen);
  });

  it("reads a state without a first_seen file, and none at all as 'no state'", () => {
    const dir = tempDir();
    expect(readState(dir, "ffmuc_welt")).toBeUndefined();
    writeState(dir, "ffmuc_welt", { ...emptyState(), applied_seq: 7 });
    expect(readState(dir, "ffmuc_welt")).toMatchObject({ applied_seq: 7, first_seen: {} });
  });
});
