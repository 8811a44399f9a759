import type { AdoptionLimits } from "../../config/schema.ts";
import type { BufferedCounters } from "../../stats/hourly-counters.ts";
import type { GatewayBook } from "../gateways/gateway-book.ts";
import type { ChangeLog } from "../log/change-log.ts";
import { ALL_GATEWAYS } from "../log/peer-ops.ts";
import type { DenyList } from "../registration/deny-list.ts";
import { AdoptionBudget } from "./adoption-budget.ts";
import { ADOPTION_OUTCOMES, type AdoptionOutcome, type AdoptionPlan, planAdoption } from "./adoption-plan.ts";

/** Counter kind of an outcome for a gateway: `adoption:<outcome>:<gateway>` (read back by the status). */
export const adoptionKind = (outcome: AdoptionOutcome, gateway: string): string => `adoption:${outcome}:${gateway}`;

/** The inverse of `adoptionKind`, for the status and /metrics. */
export function parseAdoptionKind(kind: string): { outcome: AdoptionOutcome; gateway: string } | undefined {
  const m = /^adoption:([a-z_]+):(.+)$/.exec(kind);
  const outcome = m?.[1] as AdoptionOutcome | undefined;
  return m && outcome && ADOPTION_OUTCOMES.includes(outcome) ? { outcome, gateway: m[2]! } : undefined;
}

export interface AdopterDeps {
  domain: string;
  limits: AdoptionLimits;
  log: ChangeLog;
  gateways: GatewayBook;
  denyList: DenyList;
  counters: BufferedCounters;
  sql: SqlStorage;
}

/**
 * Peers a gateway found on its interface and did not install (wgkex gave them to every
 * gateway): each accepted key becomes a registration of the domain for every gateway (`*`,
 * as wgkex had it), with its origin (adopted, by which gateway, when). It goes through the
 * change log's group commit, so it is fanned out, replayed, snapshotted and retired like
 * any registration. A gateway can thereby put keys on the others: what it may add is
 * bounded (`adoption` in WGKEX_CONFIG), and every outcome is counted per gateway and logged.
 * A denied key it reports is taken off every gateway (wgkex had put it on all of them).
 */
export class Adopter {
  private readonly deps: AdopterDeps;
  private readonly budget: AdoptionBudget;

  constructor(deps: AdopterDeps) {
    this.deps = deps;
    this.budget = new AdoptionBudget(deps.sql, {
      perGateway: deps.limits.per_gateway,
      perDomain: deps.limits.per_domain,
      windowMs: deps.limits.window_s * 1000,
    });
  }

  adopt(gateway: string, keys: readonly string[], now: number): AdoptionPlan {
    const { log, gateways, denyList, counters, limits } = this.deps;
    const room = this.budget.room(gateway, now);
    const plan = planAdoption(keys, {
      enabled: limits.enabled,
      gatewayKeys: gateways.publicKeys(),
      denied: (key) => denyList.has(key, now),
      active: (key) => {
        const row = log.latest(key);
        return row !== undefined && row.removed_at === null;
      },
      gatewayRoom: room.gateway,
      domainRoom: room.domain,
    });
    for (const key of plan.accept) {
      const before = log.latest(key);
      log.stageChange(
        {
          public_key: key,
          target: ALL_GATEWAYS,
          first_registered_at: before?.first_registered_at ?? now,
          registered_at: now,
          live_at: null,
          removed_at: null,
          removed_reason: null,
          allowed_ips: null,
          adopted_by: gateway,
          adopted_at: now,
        },
        before,
      );
    }
    for (const key of plan.retire) log.retireFound(key, gateway, `denied (found on ${gateway})`, now);
    const changes = plan.accept.length + plan.retire.length;
    if (changes > 0) {
      this.budget.spend(gateway, changes, now);
      log.commit(); // one transaction, then the fan-out to every live gateway
    }
    for (const [outcome, n] of Object.entries(plan.outcomes) as Array<[AdoptionOutcome, number]>) {
      if (n > 0) counters.count(adoptionKind(outcome, gateway), now, n);
    }
    const refused = keys.length - plan.outcomes.accepted - plan.outcomes.known;
    if (plan.accept.length > 0 || refused > 0) {
      console.log(
        JSON.stringify({
          level: refused > 0 ? "warn" : "info",
          msg: "gateway reported peers it found",
          domain: this.deps.domain,
          gateway,
          ...plan.outcomes,
        }),
      );
    }
    return plan;
  }
}
