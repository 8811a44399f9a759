/**
 * What /status, /api/v1/status and /metrics show. Public: domains, gateway names and their
 * health, counts (Freifunk maps publish as much). Never keys, never client addresses.
 */
export interface GatewayStatus {
  name: string;
  weight: number;
  location: string | null;
  drain: boolean;
  online: boolean;
  /** Peers with a handshake in the last 3 minutes, per the last report. */
  connected: number | null;
  /** Connected peers over all the gateway's domains (wgkex's load). */
  load: number | null;
  /** Peers installed on the gateway for this domain, per the last report. */
  installed: number | null;
  acked_seq: number;
  /** Changes concerning the gateway that it has not acknowledged yet. */
  lag: number;
  last_report: string | null;
  last_ack: string | null;
  connected_since: string | null;
  endpoint: { address: string; port: number; public_key: string } | null;
  /** Keys in the desired set that this gateway reported as found on its interface (adopted). */
  adopted: number;
  /** What became of the keys this gateway reported, by outcome, since ever (adoption-plan.ts). */
  adoption_reports: Record<string, number>;
}

export interface DomainStatus {
  domain: string;
  head: number;
  desired_peers: number;
  /** Of those, keys the edge adopted from gateways rather than had registered by nodes. */
  adopted_peers: number;
  tombstones: number;
  storage_bytes: number;
  gateways: GatewayStatus[];
  /** Accepted registrations (new, changed and repeated keys). */
  registrations: { last_hour: number; last_day: number };
  /** Rejections in the domain's object over the last day, by reason. */
  rejections_last_day: Record<string, number>;
  /** Monotonic totals by kind, for /metrics. */
  totals: Record<string, number>;
  /** The Parker domain only: its allocation pool and requests. */
  parker?: ParkerStatus;
}

export interface ParkerStatus {
  capacity: number;
  used: number;
  /** Allocations whose node never completed a handshake. */
  unconfirmed: number;
  used_percent: number;
  /** In use at or above `pool_alarm_percent`. */
  alarm: boolean;
  /** Requests over the last day by outcome (PARKER_KINDS). */
  requests_last_day: Record<string, number>;
}

/** Outcomes of Parker requests, with the label the status page shows. */
export const PARKER_KINDS: Record<string, string> = {
  parker_new: "new allocation",
  parker_repeated: "configuration",
  parker_moved: "moved to other concentrators",
  parker_no_concentrator: "later: no concentrator online",
  parker_source_limit: "later: too many new keys from one address",
  parker_rate_limit: "later: too many new keys this hour",
  parker_unconfirmed_limit: "later: too many unconfirmed allocations",
  parker_pool_full: "later: pool full",
  parker_denied: "later: denied key",
  parker_expired: "allocation expired",
};

/** Kinds counted as accepted registrations. */
export const REGISTRATION_KINDS = ["new", "changed", "repeated"] as const;
/**
 * Repeated registrations as repair signals, counted as `repair_<kind>`: keys the gateways
 * were asked to verify, repeats held back by the repair limits, keys a gateway installed
 * again, keys a gateway could not verify.
 */
export const REPAIR_KINDS = ["requested", "limited", "done", "failed"] as const;
/** Kinds counted as rejections, with the reason the status page shows. */
export const REJECTION_KINDS: Record<string, string> = {
  denied: "denied",
  gateway_key: "a gateway's own key",
  throttled: "rate-limited (key and address)",
  banned: "banned (key and address)",
  no_gateway: "no gateway online",
  invalid: "invalid",
  rate_limited: "rate-limited (address)",
  too_large: "body too large",
};
