import type { GatewayConfig } from "../../config/schema.ts";
import type { KeyEvent } from "../gateways/key-events.ts";
import { includes } from "../log/peer-ops.ts";
import { type RegistrationRow, stateOf } from "../log/registrations-table.ts";
import { iso } from "./iso.ts";

export type GatewayReceiptState = "installed" | "pending" | "failed" | "removed";

/**
 * A key's receipt as the operators see it (admin API): with when the key was last seen live,
 * the operator's deny reason and the agents' failure and removal texts.
 */
export interface OperatorReceipt {
  domain: string;
  public_key: string;
  state: "active" | "removed";
  seq: number;
  registered_at: string;
  last_registered_at: string;
  last_live_at: string | null;
  removed_at: string | null;
  removed_reason: string | null;
  target: string;
  /**
   * How the edge first learned of the key: a node registered it, or a gateway reported it as
   * found on its interface (a wgkex gateway taken over) and the edge adopted it.
   */
  origin: { type: "registration" } | { type: "adopted"; gateway: string; at: string };
  gateways: Array<{ name: string; state: GatewayReceiptState; at: string | null; reason: string | null }>;
}

/** Why a key left the desired set, as anybody may read it: a category, never an operator's text. */
export type RemovalCategory = "retention" | "denied" | "removed";

/**
 * A key's public receipt: what anyone who knows the key may know, its registration and its
 * installation per gateway. No operator or agent text, and not when the node was last online.
 */
export interface Receipt extends Omit<OperatorReceipt, "last_live_at" | "removed_reason" | "gateways"> {
  removed_reason: RemovalCategory | null;
  gateways: Array<{ name: string; state: GatewayReceiptState; at: string | null }>;
}

export interface ReceiptFacts {
  domain: string;
  row: RegistrationRow;
  /** Gateways serving the domain, in configuration order. */
  served: readonly GatewayConfig[];
  /** Agents' reports that apply to the key's current change. */
  events: readonly KeyEvent[];
  /** Per gateway, when it first acknowledged a seq >= the key's; absent = not yet. */
  installedAt: ReadonlyMap<string, number>;
}

/**
 * A key's receipt, per gateway: `failed`/`removed` when an agent reported so for the key's
 * current change, else `installed` once the gateway acknowledged its seq, else `pending`.
 * A removed key lists every gateway (each must remove it); an active one its targets.
 */
export function buildReceipt({ domain, row, served, events, installedAt }: ReceiptFacts): OperatorReceipt {
  const eventOf = new Map(events.map((e) => [e.gateway, e]));
  const gateways = served
    .filter((g) => row.removed_at !== null || includes(stateOf(row), g.name))
    .map((g) => {
      const event = eventOf.get(g.name);
      if (event) return { name: g.name, state: event.kind, at: iso(event.at), reason: event.reason };
      const at = installedAt.get(g.name);
      if (row.removed_at !== null) {
        return { name: g.name, state: "removed" as const, at: iso(at ?? null), reason: row.removed_reason };
      }
      return at === undefined
        ? { name: g.name, state: "pending" as const, at: null, reason: null }
        : { name: g.name, state: "installed" as const, at: iso(at), reason: null };
    });
  return {
    domain,
    public_key: row.public_key,
    state: row.removed_at === null ? "active" : "removed",
    seq: row.seq,
    registered_at: iso(row.first_registered_at)!,
    last_registered_at: iso(row.registered_at)!,
    last_live_at: iso(row.live_at),
    removed_at: iso(row.removed_at),
    removed_reason: row.removed_reason,
    target: row.target,
    origin:
      row.adopted_by === null
        ? { type: "registration" }
        : { type: "adopted", gateway: row.adopted_by, at: iso(row.adopted_at ?? row.first_registered_at)! },
    gateways,
  };
}

/** The public part of a receipt (see `Receipt`). */
export function publicReceipt(receipt: OperatorReceipt): Receipt {
  const { last_live_at: _live, removed_reason, gateways, ...rest } = receipt;
  return {
    ...rest,
    removed_reason: removed_reason === null ? null : removalCategory(removed_reason),
    gateways: gateways.map(({ name, state, at }) => ({ name, state, at })),
  };
}

function removalCategory(reason: string): RemovalCategory {
  if (reason === "retention") return reason;
  return reason.startsWith("denied") ? "denied" : "removed";
}
