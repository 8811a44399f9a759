import { popOf } from "../config/parker.ts";
import type { GatewayConfig } from "../config/schema.ts";
import type { GatewayRow } from "../registry/gateways/gateways-table.ts";
import type { ConcentratorView } from "./answer.ts";
import type { ConcentratorState } from "./parker-service.ts";

export interface ConcentratorFacts {
  /** The Parker domain's gateways, in configuration order. */
  readonly served: readonly GatewayConfig[];
  readonly row: (gateway: string) => GatewayRow | undefined;
  /** Nodes sent (+) or taken (−) since the gateway's last load report. */
  readonly bump: (gateway: string) => number;
  /** Gateways with a live session now. */
  readonly online: ReadonlySet<string>;
  readonly now: number;
  readonly graceMs: number;
}

/** What the node needs of a concentrator, once its agent reported the interface. */
function viewOf(g: GatewayConfig, row: GatewayRow | undefined): ConcentratorView | undefined {
  if (!g.parker || !row?.public_key || !row.port || !row.link_address || !row.address4) return undefined;
  return {
    name: g.name,
    id: g.parker.id,
    pop: popOf(g),
    publicKey: row.public_key,
    port: row.port,
    address4: row.address4,
    address6: row.link_address,
    endpoint4: g.parker.endpoint4,
    endpoint6: g.parker.endpoint6,
  };
}

/**
 * The Parker choice's view of each concentrator. Reachable = online, or heard from within
 * the grace period: a socket drops on every deploy and agents reconnect, while WireGuard
 * keeps forwarding; moving nodes then would cost each of them ~80 s offline for nothing.
 */
export function concentratorStates(facts: ConcentratorFacts): ConcentratorState[] {
  return facts.served.flatMap((g): ConcentratorState[] => {
    if (!g.parker) return [];
    const row = facts.row(g.name);
    const view = viewOf(g, row);
    const online = view !== undefined && facts.online.has(g.name);
    const lastSeen = Math.max(row?.reported_at ?? 0, row?.connected_at ?? 0, row?.disconnected_at ?? 0);
    return [
      {
        name: g.name,
        id: g.parker.id,
        pop: popOf(g),
        weight: g.weight,
        online,
        reachable: online || (view !== undefined && facts.now - lastSeen < facts.graceMs),
        drain: g.drain || row?.drain === 1,
        cap: g.cap,
        peers: Math.max(0, (row?.connected ?? 0) + facts.bump(g.name)),
        view,
      },
    ];
  });
}
