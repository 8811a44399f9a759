import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DesiredPeers, desiredFile, desiredJournalFile } from "../../src/domain/desired-peers.ts";
import { publicKeys, tempDir } from "../../testing/index.ts";

const open = (dir: string) => new DesiredPeers({ dir, domain: "ffmuc_welt" });

describe("the desired set on disk", () => {
  it("is unknown until a snapshot replaced the edge's part; then it survives a restart", () => {
    const dir = tempDir();
    const [a, b, c] = publicKeys(3, 80) as [string, string, string];
    const first = open(dir);
    expect(first.known).toBe(false);
    first.replaceEdge([a, b]);
    first.flush();
    expect(existsSync(desiredFile(dir, "ffmuc_welt"))).toBe(true);
    first.addFromEdge([c]);
    first.remove([a]);
    first.flush();
    const again = open(dir);
    expect(again.known).toBe(true);
    expect([...again.edge].sort()).toEqual([b, c].sort());
  });

  it("changes are appended to a journal, not rewritten, until the journal outgrows the set", () => {
    const dir = tempDir();
    const keys = publicKeys(3, 81);
    const set = open(dir);
    set.replaceEdge(keys);
    set.flush();
    const compact = readFileSync(desiredFile(dir, "ffmuc_welt"), "utf8");
    const [k] = publicKeys(1, 82) as [string];
    set.addFromEdge([k]);
    set.flush();
    expect(readFileSync(desiredFile(dir, "ffmuc_welt"), "utf8")).toBe(compact);
    expect(readFileSync(desiredJournalFile(dir, "ffmuc_welt"), "utf8")).toBe(`+edge ${k}\n`);
    // 6,000 keys come and go: 12,001 lines for a set of 4, folded into the compact file.
    const many = publicKeys(6000, 83);
    set.addFromEdge(many);
    set.flush();
    expect(existsSync(desiredJournalFile(dir, "ffmuc_welt"))).toBe(true);
    set.remove(many);
    set.flush();
    expect(existsSync(desiredJournalFile(dir, "ffmuc_welt"))).toBe(false);
    expect([...open(dir).edge].sort()).toEqual([...keys, k].sort());
  });

  it("a torn last journal line (crash mid-append) is skipped; the rest is applied", () => {
    const dir = tempDir();
    const [a, b] = publicKeys(2, 84) as [string, string];
    const set = open(dir);
    set.replaceEdge([a]);
    set.flush();
    appendFileSync(desiredJournalFile(dir, "ffmuc_welt"), `+edge ${b}\n-edge ${a.slice(0, 20)}`);
    expect([...open(dir).edge].sort()).toEqual([a, b].sort());
  });

  it("a journal without a compact file (no snapshot yet) keeps the set unknown", () => {
    const dir = tempDir();
    const [a] = publicKeys(1, 85) as [string];
    const set = open(dir);
    set.addFromEdge([a]);
    set.flush();
    const again = open(dir);
    expect(again.known).toBe(false);
    expect([...again.edge]).toEqual([a]);
  });

  it("the edge taking a key over ends its adoption; a removal ends both", () => {
    const dir = tempDir();
    const [a, b] = publicKeys(2, 86) as [string, string];
    const set = open(dir);
    set.adopt([a, b]);
    set.addFromEdge([a]);
    expect([...set.adopted]).toEqual([b]);
    expect(set.has(a) && set.has(b)).toBe(true);
    set.remove([a, b]);
    expect(set.size).toBe(0);
    set.flush();
    expect(open(dir).size).toBe(0);
  });

  it("ignores a compact file that is not a desired set", () => {
    const dir = tempDir();
    writeFileSync(desiredFile(dir, "ffmuc_welt"), '{"edge":["not a key"],"adopted":7}\n');
    const set = open(dir);
    expect(set.known).toBe(true);
    expect(set.size).toBe(0);
  });
});
