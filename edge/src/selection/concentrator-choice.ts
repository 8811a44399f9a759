/**
 * Parker's concentrator choice (parker-facts §3.1): one concentrator per PoP, weighted
 * least load, sticky within `max(1, tolerance × target)`. Pure: the domain's object
 * gathers the candidates and interpolates their loads between reports.
 *
 * A node deletes every tunnel that is not in its list and pays ~80 s offline for any
 * change (parker-facts §1.3), so stickiness is the point: a node leaves its concentrator
 * only when that one is gone, draining, or clearly over its share.
 */
export interface ConcentratorCandidate {
  readonly name: string;
  readonly id: number;
  readonly pop: string;
  readonly weight: number;
  /** Socket open and caught up, endpoint known: may take new nodes. */
  readonly online: boolean;
  /** Online, or lost its socket less than the grace period ago: keeps the nodes it has. */
  readonly reachable: boolean;
  readonly drain: boolean;
  readonly cap?: number | undefined;
  /** Connected peers per its last report, plus the interpolation since. */
  readonly peers: number;
}

export interface ConcentratorPick {
  readonly name: string;
  readonly id: number;
  readonly pop: string;
  readonly reason: "sticky" | "least-load";
}

/**
 * The concentrators for one node, ordered by id (a stable list is a stable answer).
 * `previous` is what the node was given last time. Empty when no PoP has anyone: the
 * caller must then answer "come back later", never an empty list.
 */
export function chooseConcentrators(
  candidates: readonly ConcentratorCandidate[],
  previous: readonly string[],
  tolerancePercent: number,
): ConcentratorPick[] {
  const picks: ConcentratorPick[] = [];
  const pops = [...new Set(candidates.map((c) => c.pop))];
  for (const pop of pops) {
    const inPop = candidates.filter((c) => c.pop === pop);
    const open = inPop.filter((c) => c.online && !c.drain && (c.cap === undefined || c.peers < c.cap));
    const sticky = previous
      .map((name) => inPop.find((c) => c.name === name))
      .find((c): c is ConcentratorCandidate => c?.reachable === true && !c.drain);
    const pool = sticky && !open.includes(sticky) ? [...open, sticky] : open;
    if (pool.length === 0) continue;
    const total = pool.reduce((n, c) => n + c.peers, 0);
    const weights = pool.reduce((n, c) => n + c.weight, 0);
    const diff = (c: ConcentratorCandidate) => c.peers - Math.round((c.weight / weights) * total);
    if (sticky) {
      const target = Math.round((sticky.weight / weights) * total);
      if (diff(sticky) <= Math.max(1, (tolerancePercent / 100) * target)) {
        picks.push({ name: sticky.name, id: sticky.id, pop, reason: "sticky" });
        continue;
      }
    }
    let best: ConcentratorCandidate | undefined;
    for (const c of open) if (best === undefined || diff(c) < diff(best)) best = c;
    // Over its share but the only one left in its PoP: it stays rather than the PoP going dark.
    best ??= sticky;
    if (best) picks.push({ name: best.name, id: best.id, pop, reason: best === sticky ? "sticky" : "least-load" });
  }
  return picks.sort((a, b) => a.id - b.id);
}

/**
 * How a choice shifts the loads until the next report: +1 for a concentrator a node moves
 * to, −1 for one it leaves (wgkex only ever added, so departures inflated counts).
 */
export function loadShift(previous: readonly string[], chosen: readonly string[]): Map<string, number> {
  const shift = new Map<string, number>();
  for (const name of chosen) if (!previous.includes(name)) shift.set(name, (shift.get(name) ?? 0) + 1);
  for (const name of previous) if (!chosen.includes(name)) shift.set(name, (shift.get(name) ?? 0) - 1);
  return shift;
}
