import { afterEach, describe, expect, it } from "vitest";
import type { LocalEdge } from "../../edge/local/serve.ts";
import { randomKey, registerKey, startEdge, TEST_ADMIN_TOKEN } from "../support/edge.ts";

const DOMAIN = "ffmuc_welt";
let edge: LocalEdge | undefined;
afterEach(async () => {
  await edge?.stop();
  edge = undefined;
});

interface Status {
  generated_at: string;
  domains: Array<{ domain: string; desired_peers: number }>;
}

describe("the public status with a cache (status_cache_s)", () => {
  it("is collected once per interval however many poll it, while /metrics stays fresh (issue 12)", async () => {
    edge = await startEdge({
      config: {
        domains: [DOMAIN],
        domain_prefixes: ["ffmuc_"],
        gateways: [{ name: "gw01" }],
        status_cache_s: 60, // long enough for a loaded machine to finish the test inside one interval
      },
    });
    const url = new URL("/api/v1/status", edge.url);
    const poll = async () => (await (await fetch(url)).json()) as Status;
    const first = await Promise.all(Array.from({ length: 8 }, poll));
    expect(new Set(first.map((s) => s.generated_at)).size).toBe(1);
    const peers = first[0]!.domains[0]!.desired_peers;

    expect((await registerKey(edge.url, DOMAIN, randomKey())).status).toBe(200);
    const again = await poll();
    expect(again.generated_at).toBe(first[0]!.generated_at);
    expect(again.domains[0]!.desired_peers).toBe(peers);
    const page = await (await fetch(new URL("/status", edge.url))).text();
    expect(page).toContain(DOMAIN);

    const metrics = await (
      await fetch(new URL("/metrics", edge.url), { headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })
    ).text();
    expect(metrics).toMatch(new RegExp(`^wgkex_edge_desired_peers\\{domain="${DOMAIN}"\\} ${peers + 1}$`, "m"));
  });
});
