import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertAbsent, nodePeers, pool, waitInstalled } from "./support/check.ts";
import { e2eSkip } from "./support/prerequisites.ts";
import { DOMAIN, GENERIC_400, post, postRaw, randomKey, World as W, type World } from "./support/world.ts";

const skip = e2eSkip();
const TOO_MANY = '{"error":{"message":"too many requests, please try again later"}}\n';

describe.skipIf(skip !== undefined)("5. bad input and floods", () => {
  let world: World;
  beforeAll(async () => {
    world = await W.create({
      gateways: 1,
      edge: {
        // wrangler.toml's per-address limiter (30 a minute, keyed by CF-Connecting-IP) stays on.
        nodeLimit: true,
        config: {
          domains: [DOMAIN, "ffmuc_muc_cty"],
          domain_prefixes: ["ffmuc_"],
          gateways: [{ name: "gw01" }],
          limits: { per_key: 3, per_key_window_s: 60, ban_after: 5, max_body_bytes: 1024 },
          status_cache_s: 0,
        },
      },
    });
  });
  afterAll(async () => {
    await world?.destroy();
  });

  let address = 0;
  /** A fresh client address per request, so only the flood cases meet the address limiter. */
  const fresh = () => `198.51.100.${++address}`;

  it("malformed bodies, wrong keys, unknown domains, oversized bodies: wgkex's answers, nothing reaches the gateway", async () => {
    const gw = world.gateway("gw01");
    const good = randomKey();
    const wrongKeys = [
      good.slice(0, 43), // too short
      `${good.slice(0, 42)}B=`, // non-canonical last character
      `${good.slice(0, 43)}==`,
      "x".repeat(44),
      "",
    ];
    const cases: Array<[what: string, body: string, status: number, answer: string]> = [
      ["not JSON", "domain=ffmuc_welt&public_key=abc", 400, GENERIC_400],
      ["truncated JSON", `{"domain": "${DOMAIN}","public_key": "${good}"`, 400, GENERIC_400],
      ["a JSON array", `["${DOMAIN}", "${good}"]`, 400, GENERIC_400],
      ["a JSON string", `"${good}"`, 400, GENERIC_400],
      ["empty body", "", 400, GENERIC_400],
      ["no key", `{"domain": "${DOMAIN}"}`, 400, GENERIC_400],
      ["key not a string", `{"domain": "${DOMAIN}","public_key": 42}`, 400, GENERIC_400],
      ...wrongKeys.map((k): [string, string, number, string] => [
        `wrong key "${k}"`,
        `{"domain": "${DOMAIN}","public_key": "${k}"}`,
        400,
        GENERIC_400,
      ]),
      ["unknown domain", `{"domain": "ffmuc_nowhere","public_key": "${good}"}`, 400, GENERIC_400],
      ["domain without the prefix", `{"domain": "welt","public_key": "${good}"}`, 400, GENERIC_400],
      [
        "oversized body",
        `{"domain": "${DOMAIN}","public_key": "${good}","pad": "${"x".repeat(2000)}"}`,
        413,
        '{"error":{"message":"request body too large"}}\n',
      ],
    ];
    const seen: string[] = [];
    for (const version of [1, 2] as const) {
      for (const [what, body, status, answer] of cases) {
        const r = await postRaw(world.edge.url, `/api/v${version}/wg/key/exchange`, body, {
          "CF-Connecting-IP": fresh(),
        });
        seen.push(`v${version} ${what}: ${r.status} ${r.text}`);
        expect.soft({ what: `v${version} ${what}`, status: r.status, text: r.text }).toEqual({
          what: `v${version} ${what}`,
          status,
          text: answer,
        });
        if (r.status < 500) expect.soft(r.headers.get("content-type")).toMatch(/^application\/json/);
      }
    }
    const get = await postRaw(world.edge.url, "/api/v1/wg/key/exchange", "", {}, "GET");
    expect(get.status).toBe(405);
    // An unknown domain for a key that is otherwise fine: the key must not be stored either.
    expect(await world.edge.receipt(good)).toBeUndefined();
    await world.waitCaughtUp();
    expect(nodePeers(world, gw), seen.join("\n")).toEqual([]);
    assertAbsent(gw, [good, ...wrongKeys.filter((k) => /^[A-Za-z0-9+/]{43}=$/.test(k))]);
  });

  it("a flood from one address and one key: 429 with Retry-After, legitimate nodes still get through, only accepted keys reach the gateway", async () => {
    const gw = world.gateway("gw01");
    const before = new Set(nodePeers(world, gw));
    const flooder = "203.0.113.66";
    const floodKeys = Array.from({ length: 120 }, randomKey);
    const oneKey = randomKey();
    const legit = Array.from({ length: 30 }, randomKey);

    const [fromAddress, fromKey, legitCodes] = await Promise.all([
      // 120 different keys from one address
      pool(floodKeys, 8, async (k) => post(world.edge.url, 2, DOMAIN, k, flooder)),
      // one key 40 times from one other address (a stranger replaying a public key)
      pool(
        Array.from({ length: 40 }, () => "203.0.113.77"),
        4,
        async (a) => post(world.edge.url, 1, DOMAIN, oneKey, a),
      ),
      // legitimate nodes, one address each, while the floods run
      pool(legit, 4, async (k) => (await post(world.edge.url, 2, DOMAIN, k, fresh())).status),
    ]);

    expect(legitCodes).toEqual(legit.map(() => 200));
    const accepted = floodKeys.filter((_, i) => fromAddress[i]!.status === 200);
    const limited = fromAddress.filter((r) => r.status === 429);
    // 30 a minute per address (a fixed window: at most two windows' worth in one burst).
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    expect(accepted.length).toBeLessThanOrEqual(60);
    expect(limited.length).toBe(floodKeys.length - accepted.length);
    for (const r of limited) {
      expect(r.text).toBe(TOO_MANY);
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    const keyOk = fromKey.filter((r) => r.status === 200).length;
    expect(keyOk).toBeGreaterThanOrEqual(1);
    expect(keyOk).toBeLessThanOrEqual(3 * 2);
    expect(fromKey.filter((r) => r.status !== 200).every((r) => r.status === 429 && r.text === TOO_MANY)).toBe(true);
    // The key's owner, from its own address, is not locked out by the stranger (issue 12).
    expect((await post(world.edge.url, 1, DOMAIN, oneKey, fresh())).status).toBe(200);

    await world.waitCaughtUp();
    await waitInstalled(gw, [...legit, ...accepted, oneKey], 30_000);
    assertAbsent(
      gw,
      floodKeys.filter((_, i) => fromAddress[i]!.status !== 200),
    );
    const now = nodePeers(world, gw).filter((k) => !before.has(k));
    expect(now.sort()).toEqual([...legit, ...accepted, oneKey].sort());
    console.log(
      `e2e 5: flood of ${floodKeys.length} keys from one address: ${accepted.length} accepted, ${limited.length}× 429; one key ×40 from a stranger: ${keyOk} accepted, the owner still got 200; ${legit.length}/${legit.length} legitimate nodes got through and were installed`,
    );
  });
});
