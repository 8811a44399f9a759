import { describe, expect, it } from "vitest";
import { connectGateway, freshKey, register } from "./helpers.ts";

const DOMAIN = "ffmuc_welt";

describe("per-key limits inside the domain's object", () => {
  it("throttles a key past per_key, then bans it; other keys are unaffected", async () => {
    const key = freshKey();
    const statuses: number[] = [];
    const retries: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await register(1, DOMAIN, key); // a fresh address each time: only the key limit applies
      statuses.push(res.status);
      if (res.status === 429) retries.push(Number(res.headers.get("Retry-After")));
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.slice(3).every((s) => s === 429)).toBe(true);
    // After ban_after (5) throttled requests the ban (900 s, jittered up to +50%) applies.
    expect(retries.at(-1)).toBeGreaterThanOrEqual(900);
    expect(retries.at(-1)).toBeLessThanOrEqual(1350);
    expect((await register(1, DOMAIN, freshKey())).status).toBe(200);
  });

  it("stores and fans out nothing for a throttled request", async () => {
    const gw = await connectGateway("gw01", DOMAIN);
    gw.hello(0);
    await gw.welcomed();
    const key = freshKey();
    for (let i = 0; i < 6; i++) await register(1, DOMAIN, key);
    const marker = freshKey();
    await register(1, DOMAIN, marker);
    await gw.waitForKey(marker);
    expect(gw.entries().filter((e) => e.public_key === key)).toHaveLength(1);
    gw.close();
  });
});
