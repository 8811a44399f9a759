import { describe, expect, it } from "vitest";
import type { EdgeStatus } from "../src/stats/collect.ts";
import { StatusCache } from "../src/stats/status-cache.ts";

const statusAt = (at: number): EdgeStatus => ({
  generated_at: new Date(at).toISOString(),
  domains: [],
  edge: { rejections_last_day: {}, totals: {} },
});

describe("the public status cache (pure)", () => {
  it("collects once per interval: requests meanwhile and during a collection share it", async () => {
    const cache = new StatusCache();
    let collections = 0;
    const collect = (at: number) => async () => {
      collections++;
      await new Promise((r) => setTimeout(r, 5));
      return statusAt(at);
    };
    const burst = await Promise.all(Array.from({ length: 8 }, () => cache.get(5000, 0, collect(0))));
    expect(collections).toBe(1);
    expect(new Set(burst).size).toBe(1);
    expect(await cache.get(5000, 4999, collect(4999))).toBe(burst[0]);
    expect(collections).toBe(1);
    expect((await cache.get(5000, 5000, collect(5000))).generated_at).toBe(new Date(5000).toISOString());
    expect(collections).toBe(2);
  });

  it("with an interval of 0 collects for every request", async () => {
    const cache = new StatusCache();
    let collections = 0;
    for (let i = 0; i < 3; i++)
      await cache.get(0, 1000, async () => {
        collections++;
        return statusAt(1000);
      });
    expect(collections).toBe(3);
  });

  it("keeps no failure: the next request collects again", async () => {
    const cache = new StatusCache();
    await expect(cache.get(5000, 0, () => Promise.reject(new Error("object unreachable")))).rejects.toThrow();
    expect((await cache.get(5000, 1, async () => statusAt(1))).generated_at).toBe(new Date(1).toISOString());
  });
});
