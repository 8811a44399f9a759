import { linkLocal } from "@wgkex-edge/shared";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunk, isBenignAddError, isBenignRemoveError, parseBatchErrors } from "../../src/dataplane/batch.ts";
import { planPeers } from "../../src/dataplane/peers.ts";
import { publicKeys } from "../../testing/index.ts";

describe("batching helpers", () => {
  it("chunks", () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 3)).toEqual([]);
    fc.assert(
      fc.property(fc.array(fc.integer()), fc.integer({ min: 1, max: 50 }), (xs, n) => {
        const parts = chunk(xs, n);
        expect(parts.flat()).toEqual(xs);
        expect(parts.every((p) => p.length > 0 && p.length <= n)).toBe(true);
      }),
    );
  });

  it("reads which batch lines failed and why", () => {
    const stderr =
      'RTNETLINK answers: No such process\nCommand failed -:2\nCannot find device "nonexist"\nCommand failed -:3\n';
    expect([...parseBatchErrors(stderr)]).toEqual([
      [2, "RTNETLINK answers: No such process"],
      [3, 'Cannot find device "nonexist"'],
    ]);
    expect(parseBatchErrors("Segmentation fault").size).toBe(0);
  });

  it("treats exists / not found as success", () => {
    expect(isBenignAddError("RTNETLINK answers: File exists")).toBe(true);
    expect(isBenignAddError('Cannot find device "wg-x"')).toBe(false);
    expect(isBenignRemoveError("RTNETLINK answers: No such process")).toBe(true);
    expect(isBenignRemoveError("RTNETLINK answers: No such file or directory")).toBe(true);
    expect(isBenignRemoveError("RTNETLINK answers: Operation not permitted")).toBe(false);
  });

  it("re-validates keys and derives addresses per variant", () => {
    const [k] = publicKeys(1);
    const { peers, invalid } = planPeers([k!, "nope", k!, `${k}\n`], "gluon");
    expect(peers).toEqual([{ key: k, ll: linkLocal(k!, "gluon") }]);
    expect(invalid.map((f) => f.public_key)).toEqual(["nope", `${k}\n`]);
  });
});
