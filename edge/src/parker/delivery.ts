import type { KeyEvents } from "../registry/gateways/key-events.ts";
import type { ChangeLog } from "../registry/log/change-log.ts";
import type { RegistrationRow } from "../registry/log/registrations-table.ts";

export interface DeliveryDeps {
  readonly log: ChangeLog;
  readonly events: KeyEvents;
  /** A node's key and ranges are pushed again when their last push is this old (0: every request). */
  readonly repushMs: number;
}

/**
 * Parker nodes reach their concentrators through the domain's change log, like every
 * registration: a row whose target is the chosen concentrators (comma-separated) and which
 * carries the node's ranges. So receipts, resume, replay and snapshots work unchanged, and
 * a concentrator the node leaves gets a removal.
 */
export class ParkerDelivery {
  private readonly deps: DeliveryDeps;

  constructor(deps: DeliveryDeps) {
    this.deps = deps;
  }

  /**
   * The node's desired state. A new change (a write, a fan-out) when anything differs, a
   * concentrator reported the key failed or removed, or the last push is older than
   * `repushMs` (self-healing); else nothing, and the answer comes from what is stored.
   * Resolves once a change is durable.
   */
  publish(publicKey: string, concentrators: readonly string[], ranges: readonly string[], now: number): Promise<void> {
    const { log } = this.deps;
    const target = concentrators.join(",");
    const allowedIps = ranges.join(",");
    const existing = log.latest(publicKey);
    if (existing !== undefined && !this.needsPush(existing, target, allowedIps, now)) return Promise.resolve();
    return log.append(
      {
        public_key: publicKey,
        target,
        first_registered_at: existing?.first_registered_at ?? now,
        registered_at: now,
        live_at: existing?.removed_at === null ? existing.live_at : null,
        removed_at: null,
        removed_reason: null,
        allowed_ips: allowedIps,
        // Parker domains take no adopted keys (the adopter is off there).
        adopted_by: null,
        adopted_at: null,
      },
      existing,
    );
  }

  /** The node's allocation is gone: remove it from every concentrator (committed by the caller). */
  withdraw(publicKey: string, reason: string, now: number): void {
    this.deps.log.retire(publicKey, reason, now);
  }

  private needsPush(existing: RegistrationRow, target: string, allowedIps: string, now: number): boolean {
    if (existing.removed_at !== null || existing.target !== target || existing.allowed_ips !== allowedIps) return true;
    if (now - existing.registered_at >= this.deps.repushMs) return true;
    return this.deps.events.current(existing.public_key, existing.seq).length > 0;
  }
}
