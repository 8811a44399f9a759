import { MAX_ENTRIES_PER_FRAME, type VerifiedFrame } from "@wgkex-edge/shared";
import type { BufferedCounters } from "../../stats/hourly-counters.ts";
import type { GatewayBook } from "../gateways/gateway-book.ts";
import type { KeyEvents } from "../gateways/key-events.ts";
import type { ChangeLog } from "../log/change-log.ts";
import { includes } from "../log/peer-ops.ts";
import type { RegistrationRow } from "../log/registrations-table.ts";
import type { RepairLimiter } from "../registration/repair-limiter.ts";
import type { GatewaySockets } from "./gateway-sockets.ts";

/** Keys asked about within this window go out together, one `verify` frame per gateway. */
export const VERIFY_WINDOW_MS = 500;

export interface RepairDeps {
  sockets: GatewaySockets;
  log: ChangeLog;
  gateways: GatewayBook;
  events: KeyEvents;
  counters: BufferedCounters;
  limiter: RepairLimiter;
}

/**
 * The repeat → repair path. A node registers again only when its tunnel is down; if every
 * gateway acknowledged its key, one of them may have lost it (removed by hand, interface
 * recreated). So a repeat asks the gateways that should have the key and acknowledged it to
 * verify it (`verify`), and they answer what they had to install again (`verified`).
 *
 * Cheap by construction: no durable write per repeat (counts are buffered), at most one
 * verify per key per minute and a token bucket per domain (`RepairLimiter`), keys batched
 * into one frame per gateway per window. A gateway that could not install a key answers
 * with a failure, recorded like an ack's: the key's next registration sends it out again.
 */
export class RepairRequests {
  private readonly deps: RepairDeps;
  private pending: Array<{ key: string; target: string; seq: number }> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(deps: RepairDeps) {
    this.deps = deps;
  }

  /** A repeated registration of `row` (as decided; a key with a change on its way needs no verify). */
  repeated(row: RegistrationRow, now: number): void {
    const { limiter, counters, log } = this.deps;
    const verdict = limiter.check(row.public_key, now);
    if (verdict !== "allowed") {
      counters.count("repair_limited", now);
      return;
    }
    const committed = log.committed(row.public_key);
    if (committed === undefined || committed.seq !== row.seq || committed.removed_at !== null) return;
    counters.count("repair_requested", now);
    this.pending.push({ key: row.public_key, target: row.target, seq: row.seq });
    this.timer ??= setTimeout(() => this.flush(), VERIFY_WINDOW_MS);
  }

  /** One `verify` frame (or a few of ≤ 1,000 keys) per live gateway that acknowledged the keys. */
  flush(): void {
    const { sockets, gateways } = this.deps;
    const batch = this.pending;
    this.pending = [];
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (batch.length === 0) return;
    const rows = gateways.rows();
    for (const { ws, gateway } of sockets.live()) {
      const acked = rows.get(gateway)?.acked_seq ?? 0;
      const keys = batch
        .filter((p) => p.seq <= acked && includes({ target: p.target, removed: false }, gateway))
        .map((p) => p.key);
      for (let i = 0; i < keys.length; i += MAX_ENTRIES_PER_FRAME)
        sockets.send(ws, { type: "verify", keys: keys.slice(i, i + MAX_ENTRIES_PER_FRAME) });
    }
  }

  /** A gateway's answer: repairs are counted, failures recorded so the next registration re-sends the key. */
  verified(gateway: string, frame: VerifiedFrame, now: number): void {
    const { counters, log, events } = this.deps;
    if (frame.repaired.length > 0) counters.count("repair_done", now, frame.repaired.length);
    const failed = frame.failed ?? [];
    if (failed.length > 0) counters.count("repair_failed", now, failed.length);
    for (const failure of failed) {
      const row = log.committed(failure.public_key);
      if (row && row.removed_at === null)
        events.record(failure.public_key, { gateway, kind: "failed", reason: failure.reason, at: now, seq: row.seq });
    }
  }
}
