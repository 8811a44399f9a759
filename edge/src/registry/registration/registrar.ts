import { chooseGateway } from "../../selection/gateway-choice.ts";
import type { BufferedCounters } from "../../stats/hourly-counters.ts";
import type { Endpoint, GatewayBook } from "../gateways/gateway-book.ts";
import type { KeyEvents } from "../gateways/key-events.ts";
import type { ChangeLog } from "../log/change-log.ts";
import { ALL_GATEWAYS } from "../log/peer-ops.ts";
import type { RegistrationRow } from "../log/registrations-table.ts";
import type { DenyList } from "./deny-list.ts";
import type { KeyLimits } from "./key-limits.ts";

export interface RegisterInput {
  publicKey: string;
  version: 1 | 2;
  location?: string | undefined;
  /** Who asks: the client's rate-limit key (IPv4 address or IPv6 /64), kept in memory only. */
  source: string;
}

export type RegisterResult =
  | { status: "ok"; endpoint?: Endpoint }
  | { status: "denied" }
  | { status: "throttled"; retryAfterS: number }
  | { status: "no-gateway" }
  | { status: "no-gateway-data" };

// Registrations of a known key refresh `registered_at` at most this often: retention is
// measured in hours, and a write per repeated registration is what storms must not cost.
const TOUCH_INTERVAL_MS = 10 * 60_000;

export interface RegistrarDeps {
  log: ChangeLog;
  gateways: GatewayBook;
  events: KeyEvents;
  denyList: DenyList;
  limits: KeyLimits;
  counters: BufferedCounters;
  /** Gateways with a live session now. */
  online: () => ReadonlySet<string>;
  /** A repeat of a key the log has unchanged: a repair signal (bounded, no write). */
  repeated: (row: RegistrationRow, now: number) => void;
}

/**
 * Deciding a node's registration: deny list, per-key limit, v2's gateway choice, then
 * either a change of the log (new key, new target, revival, or a key a gateway lost) or a
 * repeat answered from what is stored, with no write and no fan-out of the log; a repeat
 * asks the gateways to verify the key instead (the node's tunnel is down, a gateway may
 * have lost it), within the repair limits.
 */
export class Registrar {
  private readonly deps: RegistrarDeps;

  constructor(deps: RegistrarDeps) {
    this.deps = deps;
  }

  async register(input: RegisterInput): Promise<RegisterResult> {
    const { log, gateways, denyList, limits, counters } = this.deps;
    const now = Date.now();
    const key = input.publicKey;
    if (denyList.has(key, now)) {
      counters.count("denied");
      return { status: "denied" };
    }
    if (gateways.isGatewayKey(key)) {
      counters.count("gateway_key");
      return { status: "denied" };
    }
    const verdict = limits.check(key, input.source, now);
    if (!verdict.allowed) {
      counters.count(verdict.banned ? "banned" : "throttled");
      return { status: "throttled", retryAfterS: verdict.retryAfterS };
    }

    const existing = log.latest(key);
    let target = ALL_GATEWAYS;
    let endpoint: Endpoint | undefined;
    if (input.version === 2) {
      const previous =
        existing && existing.removed_at === null && existing.target !== ALL_GATEWAYS ? existing.target : undefined;
      const choice = chooseGateway(gateways.candidates(this.deps.online()), { previous, location: input.location });
      if (choice.gateway === undefined) {
        counters.count("no_gateway");
        return { status: "no-gateway" };
      }
      endpoint = gateways.endpointOf(choice.gateway);
      if (endpoint === undefined) return { status: "no-gateway-data" };
      target = choice.gateway;
      if (choice.reason !== "sticky") gateways.assign(target);
    }
    const answer: RegisterResult = endpoint ? { status: "ok", endpoint } : { status: "ok" };

    if (existing === undefined || this.needsChange(existing, target)) {
      counters.count(existing === undefined ? "new" : "changed");
      counters.count(`v${input.version}`);
      await log.append(
        {
          public_key: key,
          target,
          first_registered_at: existing?.first_registered_at ?? now,
          registered_at: now,
          live_at: existing?.removed_at === null ? existing.live_at : null,
          removed_at: null,
          removed_reason: null,
          allowed_ips: null,
          // How the edge first learned of the key stays with it, like first_registered_at.
          adopted_by: existing?.adopted_by ?? null,
          adopted_at: existing?.adopted_at ?? null,
        },
        existing,
      );
      return answer;
    }
    if (now - existing.registered_at >= TOUCH_INTERVAL_MS) log.touch(key, now);
    counters.count("repeated");
    counters.count(`v${input.version}`);
    this.deps.repeated(existing, now);
    return answer;
  }

  /**
   * A known key needs a new seq (a write and a fan-out) only when what gateways should
   * have changes or a gateway lost it: removed, re-targeted, or reported failed/removed.
   */
  private needsChange(existing: RegistrationRow, target: string): boolean {
    if (existing.removed_at !== null || existing.target !== target) return true;
    return this.deps.events.current(existing.public_key, existing.seq).length > 0;
  }
}
