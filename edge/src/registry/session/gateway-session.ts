import {
  type AddressVariant,
  type AgentFrame,
  type Dataplane,
  externalAddressProblem,
  type HelloFrame,
  MAX_ENTRIES_PER_FRAME,
  PROTOCOL_VERSION,
  parseAgentFrame,
} from "@wgkex-edge/shared";
import type { Adopter } from "../adoption/adopter.ts";
import type { GatewayBook } from "../gateways/gateway-book.ts";
import type { KeyEvents } from "../gateways/key-events.ts";
import type { ChangeLog } from "../log/change-log.ts";
import { type Change, framesFor } from "../log/peer-ops.ts";
import { backlogFrames, backlogMode } from "./backlog.ts";
import type { GatewaySockets } from "./gateway-sockets.ts";
import type { RepairRequests } from "./repair-requests.ts";
import type { SocketAttachment } from "./socket-attachment.ts";

const LIVE_INTERVAL_MS = 10 * 60_000;

type Report = Exclude<AgentFrame, HelloFrame>;

export interface SessionDeps {
  domain: string;
  variant: AddressVariant;
  dataplane: Dataplane;
  sockets: GatewaySockets;
  log: ChangeLog;
  gateways: GatewayBook;
  events: KeyEvents;
  repairs: RepairRequests;
  /** Keys an agent saw with a recent handshake (Parker confirms allocations with them). */
  onLive?: ((keys: readonly string[], now: number) => void) | undefined;
  /** Undefined in the Parker domain: its reports are ignored (logged). */
  adopter: Adopter | undefined;
}

/**
 * The edge's side of the gateway protocol: what a session does with each frame in each
 * state, the welcome that brings a gateway up to date, and the fan-out of committed
 * changes to live sessions.
 */
export class GatewaySessions {
  private readonly deps: SessionDeps;

  constructor(deps: SessionDeps) {
    this.deps = deps;
  }

  message(ws: WebSocket, message: string | ArrayBuffer): void {
    const attachment = this.deps.sockets.attachment(ws);
    if (attachment === undefined) return;
    const parsed = parseAgentFrame(message);
    if (!parsed.ok) {
      this.deps.sockets.closeWithError(ws, "bad_frame", parsed.reason);
      return;
    }
    this.onFrame(ws, attachment, parsed.frame, Date.now());
  }

  /**
   * Frame handling per session state. Both states take every frame, as the edge always
   * has: a report before the hello is applied, a second hello welcomes again. Rules such
   * as "hello first" or "one hello per socket" belong here.
   */
  private onFrame(ws: WebSocket, attachment: SocketAttachment, frame: AgentFrame, now: number): void {
    switch (attachment.state) {
      case "greeting":
        if (frame.type === "adopted") {
          // New with adoption, so no older agent depends on sending it early: it puts keys on
          // other gateways, so only a welcomed gateway (configured for this domain) may.
          this.deps.sockets.closeWithError(ws, "bad_frame", "adopted: only after the welcome (send hello first)");
          return;
        }
        if (frame.type === "hello") this.hello(ws, attachment, frame, now);
        else this.report(attachment.gateway, frame, now);
        return;
      case "live":
        if (frame.type === "hello") this.hello(ws, attachment, frame, now);
        else this.report(attachment.gateway, frame, now);
    }
  }

  /**
   * Bring a gateway up to date in one synchronous step: no registration can slip between
   * reading the backlog and marking the session live, so nothing is missed or reordered.
   */
  private hello(ws: WebSocket, attachment: SocketAttachment, hello: HelloFrame, now: number): void {
    const { domain, variant, dataplane, sockets, log, gateways } = this.deps;
    const { gateway } = attachment;
    if (!gateways.serves(gateway)) {
      sockets.closeWithError(ws, "not_configured", `gateway ${gateway} does not serve ${domain}`);
      return;
    }
    // Committing first puts everything up to head in the log, and sends what was staged to
    // the sessions already live (this one is not, so it gets those changes once, below).
    const committed = log.read();
    sockets.replaceOthers(ws, gateway);
    const request = { gateway, since: hello.since, wantSnapshot: hello.snapshot === true, head: log.head };
    const mode = backlogMode(request, committed.purgedSeq());
    sockets.send(ws, {
      type: "welcome",
      v: PROTOCOL_VERSION,
      domain,
      gateway,
      mode,
      head: request.head,
      variant,
      ...(dataplane === "parker" ? { dataplane } : {}),
    });
    for (const frame of backlogFrames(committed, mode, request)) sockets.send(ws, frame);
    if (mode === "replay") gateways.resumed(gateway, hello.since, now);
    sockets.setState(ws, attachment, "live");
    gateways.save(gateway, { connected_at: now });
  }

  /** What an agent reports about its gateway and the keys it installed or removed. */
  private report(gateway: string, frame: Report, now: number): void {
    const { log, gateways, events } = this.deps;
    switch (frame.type) {
      case "ack":
        gateways.ack(gateway, frame.seq, now);
        for (const failure of frame.failed ?? []) {
          const row = log.committed(failure.public_key);
          if (row)
            events.record(failure.public_key, {
              gateway,
              kind: "failed",
              reason: failure.reason,
              at: now,
              seq: row.seq,
            });
        }
        return;
      case "interface": {
        const problem = externalAddressProblem(frame.address);
        if (problem !== undefined) {
          console.log(
            JSON.stringify({
              level: "warn",
              msg: "gateway reported an external address v2 cannot answer with; v2 sends no node there",
              domain: this.deps.domain,
              gateway,
              address: frame.address,
              problem,
            }),
          );
        }
        gateways.save(gateway, {
          public_key: frame.public_key,
          port: frame.port,
          address: frame.address,
          link_address: frame.link_address,
          address4: frame.address4 ?? null,
          interface_at: now,
        });
        return;
      }
      case "load":
        gateways.reported(gateway, {
          connected: frame.connected,
          load: frame.load,
          peers: frame.peers,
          reported_at: now,
        });
        return;
      case "live":
        log.markLive(frame.keys, now, now - LIVE_INTERVAL_MS);
        this.deps.onLive?.(frame.keys, now);
        return;
      case "verified":
        this.deps.repairs.verified(gateway, frame, now);
        return;
      case "adopted":
        if (this.deps.adopter) this.deps.adopter.adopt(gateway, frame.keys, now);
        else {
          console.log(
            JSON.stringify({
              level: "warn",
              msg: "gateway reported peers it found in a Parker domain: ignored (adoption is for batman-adv domains)",
              domain: this.deps.domain,
              gateway,
              keys: frame.keys.length,
            }),
          );
        }
        return;
      case "removed":
        for (const entry of frame.entries) {
          const row = log.committed(entry.public_key);
          if (row && row.removed_at === null) {
            events.record(entry.public_key, {
              gateway,
              kind: "removed",
              reason: entry.reason,
              at: entry.at,
              seq: row.seq,
            });
          }
        }
        return;
    }
  }

  /** Send committed changes to every live session, in frames of at most 1,000 entries. */
  fanOut(changes: readonly Change[]): void {
    const { sockets } = this.deps;
    for (const { ws, gateway } of sockets.live()) {
      for (const entries of framesFor(changes, gateway, MAX_ENTRIES_PER_FRAME))
        sockets.send(ws, { type: "peers", entries });
    }
  }

  /** A socket closed or failed (handled once, whichever the runtime reported). */
  closed(ws: WebSocket, close?: { code: number; reason: string }): void {
    const offline = this.deps.sockets.closed(ws, close);
    if (offline !== undefined) this.deps.gateways.save(offline, { disconnected_at: Date.now() });
  }
}
