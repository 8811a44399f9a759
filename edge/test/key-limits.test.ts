import { describe, expect, it } from "vitest";
import { connectGateway, freshIp, freshKey, gluonBody, post, register } from "./helpers.ts";

const DOMAIN = "ffmuc_welt";

describe("per-key limits inside the domain's object", () => {
  it("throttles a key from one address past per_key, then bans that pair; other keys are unaffected", async () => {
    const key = freshKey();
    const ip = freshIp();
    const statuses: number[] = [];
    const retries: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await post(1, gluonBody(DOMAIN, key), { ip });
      statuses.push(res.status);
      if (res.status === 429) retries.push(Number(res.headers.get("Retry-After")));
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.slice(3).every((s) => s === 429)).toBe(true);
    // After ban_after (5) throttled requests the ban (900 s, jittered up to +50%) applies.
    expect(retries.at(-1)).toBeGreaterThanOrEqual(900);
    expect(retries.at(-1)).toBeLessThanOrEqual(1350);
    expect((await post(1, gluonBody(DOMAIN, freshKey()), { ip })).status).toBe(200);
  });

  it("nobody locks a router out: a stranger replaying its public key bans only itself (issue 12)", async () => {
    const victim = freshKey();
    const stranger = "2001:db8:bad:1::7";
    const strangerAnswers: number[] = [];
    for (let i = 0; i < 27; i++)
      strangerAnswers.push((await post(1, gluonBody(DOMAIN, victim), { ip: stranger })).status);
    expect(strangerAnswers.at(-1)).toBe(429);
    // Also from the rest of the stranger's /64: the same source.
    expect((await post(1, gluonBody(DOMAIN, victim), { ip: "2001:db8:bad:1::8" })).status).toBe(429);
    // The owner, from its own address: answered as if the stranger never came.
    const owner = freshIp();
    const res = await post(1, gluonBody(DOMAIN, victim), { ip: owner });
    expect(res.status).toBe(200);
    expect(res.headers.get("Retry-After")).toBeNull();
    expect((await post(1, gluonBody(DOMAIN, victim), { ip: owner })).status).toBe(200);
  });

  it("stores and fans out nothing for a throttled request", async () => {
    const gw = await connectGateway("gw01", DOMAIN);
    gw.hello(0);
    await gw.welcomed();
    const key = freshKey();
    const ip = freshIp();
    const answers: number[] = [];
    for (let i = 0; i < 6; i++) answers.push((await post(1, gluonBody(DOMAIN, key), { ip })).status);
    expect(answers).toEqual([200, 200, 200, 429, 429, 429]);
    const marker = freshKey();
    await register(1, DOMAIN, marker);
    await gw.waitForKey(marker);
    expect(gw.entries().filter((e) => e.public_key === key)).toHaveLength(1);
    gw.close();
  });
});
