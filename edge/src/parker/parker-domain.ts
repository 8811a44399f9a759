import type { EdgeConfig } from "../config/schema.ts";
import type { GatewayBook } from "../registry/gateways/gateway-book.ts";
import type { KeyEvents } from "../registry/gateways/key-events.ts";
import type { ChangeLog } from "../registry/log/change-log.ts";
import type { DenyList } from "../registry/registration/deny-list.ts";
import type { BufferedCounters } from "../stats/hourly-counters.ts";
import { concentratorStates } from "./concentrators.ts";
import { ParkerDelivery } from "./delivery.ts";
import { ParkerService } from "./parker-service.ts";
import { ParkerStore } from "./parker-store.ts";

export interface ParkerDomainDeps {
  readonly config: EdgeConfig;
  readonly domain: string;
  readonly sql: SqlStorage;
  readonly log: ChangeLog;
  readonly events: KeyEvents;
  readonly gateways: GatewayBook;
  readonly counters: BufferedCounters;
  readonly denyList: DenyList;
  /** Gateways with a live session now. */
  readonly online: () => ReadonlySet<string>;
}

/**
 * The Parker service of the domain's object when this domain is the Parker domain, wired to
 * the object's own modules: the gateway book (concentrator state and load interpolation),
 * the change log (delivery to the concentrators) and the counters.
 */
export function parkerDomain(deps: ParkerDomainDeps): ParkerService | undefined {
  const parker = deps.config.parker;
  if (parker === undefined || parker.domain !== deps.domain) return undefined;
  const { gateways, counters } = deps;
  const delivery = new ParkerDelivery({ log: deps.log, events: deps.events, repushMs: parker.repush_s * 1000 });
  return new ParkerService(new ParkerStore(deps.sql), parker, {
    isDenied: (key, now) => deps.denyList.has(key, now),
    concentrators: (now) =>
      concentratorStates({
        served: gateways.served,
        row: (g) => gateways.rows().get(g),
        bump: (g) => gateways.bump(g),
        online: deps.online(),
        now,
        graceMs: parker.offline_grace_s * 1000,
      }),
    publish: (key, concentrators, ranges, now) => delivery.publish(key, concentrators, ranges, now),
    withdraw: (key, reason, now) => delivery.withdraw(key, reason, now),
    shiftLoad: (shift) => {
      for (const [gateway, delta] of shift) gateways.shift(gateway, delta);
    },
    count: (kind) => counters.count(kind),
  });
}
