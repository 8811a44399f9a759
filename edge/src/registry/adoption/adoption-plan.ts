import { isPublicKey } from "@wgkex-edge/shared";

/**
 * What became of one key a gateway reported as found on its interface:
 * - `accepted`: a new registration of the domain, adopted from that gateway;
 * - `known`: already in the desired set (registered, or adopted before): nothing to do;
 * - `gateway_key`: a gateway's own key (they are static peers of each other, never nodes);
 * - `denied`: on the deny list: removed from every gateway (within the budget's room);
 * - `limit`: the gateway's or the domain's adoption budget for the window is spent;
 * - `disabled`: adoption is switched off (`adoption.enabled: false`);
 * - `invalid`: not a canonical public key (the frame's schema already refuses these: counted
 *   here only should a caller hand in unchecked keys).
 */
export const ADOPTION_OUTCOMES = [
  "accepted",
  "known",
  "gateway_key",
  "denied",
  "limit",
  "disabled",
  "invalid",
] as const;
export type AdoptionOutcome = (typeof ADOPTION_OUTCOMES)[number];

export interface AdoptionFacts {
  readonly enabled: boolean;
  /** Every gateway's public key for the domain, as their `interface` frames said. */
  readonly gatewayKeys: ReadonlySet<string>;
  readonly denied: (key: string) => boolean;
  /** In the desired set now (staged changes included). */
  readonly active: (key: string) => boolean;
  /** New keys the reporting gateway, and the domain, may still add in this window. */
  readonly gatewayRoom: number;
  readonly domainRoom: number;
}

export interface AdoptionPlan {
  /** Keys to record, in report order. */
  readonly accept: string[];
  readonly outcomes: Readonly<Record<AdoptionOutcome, number>>;
  /** Keys refused for the budget: the agent reports them again, they may fit a later window. */
  readonly overBudget: string[];
  /**
   * Denied keys to remove from every gateway (wgkex installed them everywhere; the edge never
   * gave them, so nothing else would take them off). Within the same room as new keys: a
   * gateway cannot make the edge write and send more by reporting denied keys.
   */
  readonly retire: string[];
}

/** Pure: which reported keys become registrations, and why the others do not. Each key once. */
export function planAdoption(keys: readonly string[], facts: AdoptionFacts): AdoptionPlan {
  const outcomes = Object.fromEntries(ADOPTION_OUTCOMES.map((o) => [o, 0])) as Record<AdoptionOutcome, number>;
  const accept: string[] = [];
  const overBudget: string[] = [];
  const retire: string[] = [];
  let room = Math.max(0, Math.min(facts.gatewayRoom, facts.domainRoom));
  for (const key of new Set(keys)) {
    const outcome = decide(key, facts, room);
    outcomes[outcome]++;
    if (outcome === "accepted") {
      accept.push(key);
      room--;
    } else if (outcome === "limit") overBudget.push(key);
    else if (outcome === "denied" && room > 0) {
      retire.push(key);
      room--;
    }
  }
  return { accept, outcomes, overBudget, retire };
}

function decide(key: string, facts: AdoptionFacts, room: number): AdoptionOutcome {
  if (!isPublicKey(key)) return "invalid";
  if (facts.gatewayKeys.has(key)) return "gateway_key";
  if (facts.denied(key)) return "denied";
  if (facts.active(key)) return "known";
  if (!facts.enabled) return "disabled";
  return room > 0 ? "accepted" : "limit";
}
