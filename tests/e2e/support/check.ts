import { type Gateway, linkLocalOf, until, type World } from "./world.ts";

const count = (xs: string[]) => {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
};

export interface Placement {
  missingPeers: string[];
  wrongAllowedIps: string[];
  missingRoutes: string[];
  duplicateRoutes: string[];
  missingFdb: string[];
  duplicateFdb: string[];
}

/** Where the gateway falls short of "each key installed exactly once" (peer, route, FDB). */
export function placement(g: Gateway, keys: readonly string[]): Placement {
  const peers = g.peers();
  const routes = count(g.routes());
  const fdb = count(g.fdb());
  const p: Placement = {
    missingPeers: [],
    wrongAllowedIps: [],
    missingRoutes: [],
    duplicateRoutes: [],
    missingFdb: [],
    duplicateFdb: [],
  };
  for (const key of keys) {
    const ll = linkLocalOf(key);
    const peer = peers.get(key);
    if (!peer) p.missingPeers.push(key);
    else if (peer.allowedIps !== `${ll}/128`) p.wrongAllowedIps.push(`${key} has ${peer.allowedIps}`);
    const r = routes.get(ll) ?? 0;
    if (r === 0) p.missingRoutes.push(ll);
    if (r > 1) p.duplicateRoutes.push(`${ll} ×${r}`);
    const f = fdb.get(ll) ?? 0;
    if (f === 0) p.missingFdb.push(ll);
    if (f > 1) p.duplicateFdb.push(`${ll} ×${f}`);
  }
  return p;
}

const problems = (p: Placement) =>
  Object.entries(p)
    .filter(([, v]) => (v as string[]).length > 0)
    .map(([k, v]) => `${k}: ${(v as string[]).length} (e.g. ${(v as string[]).slice(0, 3).join(", ")})`);

/** Throw, with what was expected and what the gateway has, unless every key is there exactly once. */
export function assertInstalledOnce(g: Gateway, keys: readonly string[]): void {
  const bad = problems(placement(g, keys));
  if (bad.length > 0) {
    throw new Error(
      `expected ${keys.length} key(s) installed exactly once on ${g.name} (peer <ll>/128, route, FDB entry), but:\n  ${bad.join("\n  ")}\n${g.describe()}`,
    );
  }
}

/** Wait until every key is installed on the gateway; then check "exactly once". Returns ms waited. */
export async function waitInstalled(g: Gateway, keys: readonly string[], timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  const want = new Set(keys);
  try {
    await until(
      `${keys.length} peers on ${g.name}`,
      () => {
        const have = g.peers();
        for (const k of want) if (!have.has(k)) return false;
        // peers come first, then one route batch and one FDB batch
        const p = placement(g, keys);
        return p.missingRoutes.length === 0 && p.missingFdb.length === 0;
      },
      timeoutMs,
      50,
    );
  } catch (e) {
    const have = g.peers();
    const missing = keys.filter((k) => !have.has(k));
    throw new Error(
      `${(e as Error).message}: ${missing.length} of ${keys.length} missing (e.g. ${missing.slice(0, 3).join(", ")})\n${g.describe()}`,
    );
  }
  const waited = Date.now() - started;
  assertInstalledOnce(g, keys);
  return waited;
}

/** None of the keys has a peer, route or FDB entry on the gateway. */
export function assertAbsent(g: Gateway, keys: readonly string[]): void {
  const peers = g.peers();
  const routes = new Set(g.routes());
  const fdb = new Set(g.fdb());
  const found = keys.filter((k) => peers.has(k) || routes.has(linkLocalOf(k)) || fdb.has(linkLocalOf(k)));
  if (found.length > 0) {
    throw new Error(
      `expected ${found.length} key(s) NOT to reach ${g.name}, but they did: ${found.slice(0, 5).join(", ")}\n${g.describe()}`,
    );
  }
}

/** Peers of a gateway that are nodes (not the other gateways' static peers). */
export function nodePeers(world: World, g: Gateway): string[] {
  const statics = new Set(world.gateways.map((x) => x.publicKey));
  return [...g.peers().keys()].filter((k) => !statics.has(k));
}

/** Run `fn` over `items` with at most `concurrency` in flight. */
export async function pool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, i: number) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length) return;
        results[i] = await fn(items[i]!, i);
      }
    }),
  );
  return results;
}
