import type { BenchGateway } from "./gateway.ts";
import { sleep } from "./stats.ts";

/**
 * "Nothing lost" for keys sent by a load generator that cannot say which requests were
 * answered (wrk): every key the gateways received must have been sent, and every sent key
 * that no gateway received must be unknown to the edge (a request still in flight when wrk
 * stopped, never processed). A key the edge has but a gateway never got is lost.
 *
 * `allGateways`: v1 keys go to every gateway; v2 keys to one.
 */
export async function checkDelivery(options: {
  edge: URL;
  domain: string;
  gateways: readonly BenchGateway[];
  sent: readonly string[];
  /** Keys answered 200 (at least): the wait ends once this many arrived. */
  answered: number;
  allGateways: boolean;
  timeoutMs?: number;
}): Promise<string[]> {
  const { gateways, sent, allGateways } = options;
  const sentSet = new Set(sent);
  const arrived = (g: BenchGateway): number => {
    let n = 0;
    for (const key of g.received.keys()) if (sentSet.has(key)) n++;
    return n;
  };
  const enough = (): boolean =>
    allGateways
      ? gateways.every((g) => arrived(g) >= options.answered)
      : gateways.reduce((n, g) => n + arrived(g), 0) >= options.answered;
  const deadline = performance.now() + (options.timeoutMs ?? 20_000);
  while (!enough() && performance.now() < deadline) await sleep(20);
  await sleep(200); // stragglers of requests that were in flight

  const problems: string[] = [];
  const missing = sent.filter((key) =>
    allGateways ? gateways.some((g) => !g.received.has(key)) : !gateways.some((g) => g.received.has(key)),
  );
  if (missing.length > 2_000) {
    problems.push(`${options.domain}: ${missing.length} of ${sent.length} sent keys never reached the gateways`);
    return problems;
  }
  let lost = 0;
  for (const key of missing) {
    const url = new URL("/api/v1/wg/key/status", options.edge);
    url.searchParams.set("domain", options.domain);
    url.searchParams.set("public_key", key);
    const res = await fetch(url);
    await res.arrayBuffer();
    if (res.status === 200) lost++;
    else if (res.status !== 404) problems.push(`${options.domain}: status of a sent key answered ${res.status}`);
  }
  if (lost > 0) problems.push(`${options.domain}: ${lost} keys registered but not delivered to every gateway`);
  return problems;
}
