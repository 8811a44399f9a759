/**
 * The v2 gateway choice: wgkex's weighted least-load rule (wgkex-facts §4), with its flaws
 * fixed and the extensions wgkex lacks. Pure: the domain's object gathers the candidates.
 */
export interface GatewayCandidate {
  readonly name: string;
  /** Configured weight (wgkex: unconfigured gateways count as 1). */
  readonly weight: number;
  readonly location?: string | undefined;
  readonly cap?: number | undefined;
  readonly drain: boolean;
  /** Has an open socket to the domain's object. */
  readonly online: boolean;
  /** Connected peers in this domain per the last report; undefined = never reported. */
  readonly connected?: number | undefined;
  /** Connected peers summed over all the gateway's domains (wgkex's load), incl. our own bumps. */
  readonly load: number;
}

export interface ChoiceRequest {
  /** The gateway this key was sent to last time, if any. */
  readonly previous?: string | undefined;
  /** Preferred location from the request; falls back to all gateways when none fits. */
  readonly location?: string | undefined;
}

export type Choice =
  | { readonly gateway: string; readonly reason: "sticky" | "location" | "least-load" }
  | { readonly gateway: undefined; readonly reason: "none-online" };

/** wgkex's eligibility: online and reported a connected-peer count for this domain. */
export const isEligible = (g: GatewayCandidate): boolean => g.online && g.connected !== undefined && g.connected >= 0;

/** Eligible and accepting nodes: not draining, under its cap. */
const accepts = (g: GatewayCandidate): boolean => isEligible(g) && !g.drain && (g.cap === undefined || g.load < g.cap);

/**
 * Smallest `load − rel × total`, first seen wins ties. Unlike wgkex, `total` and the weight
 * shares count only the gateways in the running: an offline gateway's stale count no longer
 * inflates everyone's fair share.
 */
export function leastLoaded(pool: readonly GatewayCandidate[]): GatewayCandidate | undefined {
  const total = pool.reduce((sum, g) => sum + g.load, 0);
  const weights = pool.reduce((sum, g) => sum + g.weight, 0);
  let best: GatewayCandidate | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const g of pool) {
    const score = g.load - (g.weight / weights) * total;
    if (score < bestScore) {
      best = g;
      bestScore = score;
    }
  }
  return best;
}

export function chooseGateway(candidates: readonly GatewayCandidate[], request: ChoiceRequest = {}): Choice {
  if (request.previous !== undefined) {
    const previous = candidates.find((g) => g.name === request.previous);
    // Sticky while the gateway is still fine; the node is already counted in its load, so
    // the cap does not apply to it.
    if (previous && isEligible(previous) && !previous.drain) return { gateway: previous.name, reason: "sticky" };
  }
  const open = candidates.filter(accepts);
  if (request.location !== undefined) {
    const local = leastLoaded(open.filter((g) => g.location === request.location));
    if (local) return { gateway: local.name, reason: "location" };
  }
  const best = leastLoaded(open);
  return best ? { gateway: best.name, reason: "least-load" } : { gateway: undefined, reason: "none-online" };
}
