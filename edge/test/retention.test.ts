import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DomainRegistry } from "../src/registry/domain-registry.ts";
import { connectGateway, freshKey, operatorReceiptOf, receiptOf, register } from "./helpers.ts";

const DOMAIN = "ffmuc_welt";
const HOUR = 3_600_000;

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("retention (24 h in the test config)", () => {
  it("removes keys neither registered nor live within retention, fans the removal out, then purges tombstones", async () => {
    const gw = await connectGateway("gw01", DOMAIN);
    gw.hello(0);
    await gw.welcomed();
    const idle = freshKey();
    const live = freshKey();
    await register(1, DOMAIN, idle);
    await register(1, DOMAIN, live);
    await gw.waitForKey(live);
    const sinceBefore = gw.entries().at(-1)!.seq;
    await new Promise((r) => setTimeout(r, 20)); // the live report comes strictly later
    gw.send({ type: "live", keys: [live] });
    const liveAt = await until(async () => {
      const r = await (await operatorReceiptOf(DOMAIN, live)).json<{ last_live_at: string | null }>();
      return r.last_live_at === null ? undefined : Date.parse(r.last_live_at);
    }, "live report applied");

    // Retention ends right at the live report: the idle key expired, the live one did not.
    const stub = env.DOMAIN_REGISTRY.getByName(DOMAIN);
    const swept = await stub.sweep(liveAt + 24 * HOUR);
    expect(swept).toEqual({ removed: 1, purged: 0, expired: 0 });
    await gw.waitForKey(idle, "remove");
    expect(gw.entries().some((e) => e.public_key === live && e.op === "remove")).toBe(false);

    const receipt = await (await receiptOf(DOMAIN, idle)).json<{ state: string; removed_reason: string }>();
    expect(receipt).toMatchObject({ state: "removed", removed_reason: "retention" });

    // A gateway resuming from before the removal learns of it by replay...
    const back = await connectGateway("gw02", DOMAIN);
    back.hello(sinceBefore);
    expect((await back.welcomed()).mode).toBe("replay");
    await back.waitForKey(idle, "remove");
    back.close();

    // ...until the tombstone is purged, after which it needs a snapshot.
    const purged = await stub.sweep(Date.now() + 50 * HOUR);
    expect(purged.purged).toBeGreaterThanOrEqual(1);
    const late = await connectGateway("gw02", DOMAIN);
    late.hello(sinceBefore);
    expect((await late.welcomed()).mode).toBe("snapshot");
    await late.until((fs) => fs.some((f) => f.type === "snapshot" && f.done), "snapshot");
    expect(late.snapshotKeys()).not.toContain(idle);
    late.close();
    gw.close();
  });

  it("pages through more than 1,000 expired keys in one sweep", async () => {
    const domain = "ffmuc_muc_cty";
    const stub = env.DOMAIN_REGISTRY.getByName(domain);
    const keys = Array.from({ length: 1_500 }, () => freshKey());
    await Promise.all(keys.map((key) => stub.register({ publicKey: key, version: 1, source: "192.0.2.1" })));
    const swept = await stub.sweep(Date.now() + 25 * HOUR);
    expect(swept.removed).toBe(1_500);
    expect((await (await receiptOf(domain, keys.at(-1)!)).json<{ state: string }>()).state).toBe("removed");
  });

  it("brings a removed key back when its node registers again", async () => {
    const key = freshKey();
    await register(1, DOMAIN, key);
    const stub = env.DOMAIN_REGISTRY.getByName(DOMAIN);
    await stub.sweep(Date.now() + 25 * HOUR);
    expect((await (await receiptOf(DOMAIN, key)).json<{ state: string }>()).state).toBe("removed");
    await register(1, DOMAIN, key);
    expect((await (await receiptOf(DOMAIN, key)).json<{ state: string }>()).state).toBe("active");
  });

  it("schedules its sweep alarm", async () => {
    const stub = env.DOMAIN_REGISTRY.getByName("ffmuc_gluon");
    await register(1, "ffmuc_gluon", freshKey());
    const alarm = await runInDurableObject(stub, (_obj: DomainRegistry, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThan(Date.now());
  });

  it("tracks schema migrations in a table", async () => {
    const stub = env.DOMAIN_REGISTRY.getByName(DOMAIN);
    const rows = await runInDurableObject(stub, (_obj: DomainRegistry, state) =>
      state.storage.sql.exec<{ version: number; name: string }>("SELECT version, name FROM migrations").toArray(),
    );
    expect(rows.map((r) => r.version)).toEqual([1, 2, 3, 4, 5]);
  });
});
