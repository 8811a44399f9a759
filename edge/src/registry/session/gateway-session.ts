import {
  type AddressVariant,
  type AgentFrame,
  type Dataplane,
  type ErrorCode,
  externalAddressProblem,
  type HelloFrame,
  MAX_ENTRIES_PER_FRAME,
  PROTOCOL_VERSION,
  parseAgentFrame,
} from "@wgkex-edge/shared";
import type { GatewayBudgetLimits } from "../../config/schema.ts";
import { logLine } from "../../log.ts";
import type { Adopter } from "../adoption/adopter.ts";
import type { GatewayBook } from "../gateways/gateway-book.ts";
import type { KeyEvents } from "../gateways/key-events.ts";
import type { ChangeLog } from "../log/change-log.ts";
import { type Change, framesFor, includes } from "../log/peer-ops.ts";
import { type RegistrationRow, stateOf } from "../log/registrations-table.ts";
import { backlogFrames, backlogMode } from "./backlog.ts";
import { GatewayBudget } from "./gateway-budget.ts";
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
  /** What each gateway may send; undefined = no budget (limits off, benchmarks only). */
  budget: GatewayBudgetLimits | undefined;
  /** Undefined in the Parker domain: its reports are ignored (logged). */
  adopter: Adopter | undefined;
}

/**
 * The edge's side of the gateway protocol: what a session does with each frame in each
 * state, the welcome that brings a gateway up to date, and the fan-out of committed
 * changes to live sessions. Gateways are authenticated, not trusted: a frame counts only in
 * its state, within the gateway's budget and within what the edge knows to be true (an ack
 * at most the committed head, a removal not in the future, reports only about keys the
 * gateway should have).
 */
export class GatewaySessions {
  private readonly deps: SessionDeps;
  private readonly budgets = new Map<string, GatewayBudget>();

  constructor(deps: SessionDeps) {
    this.deps = deps;
  }

  /**
   * One frame from a gateway. Never throws: a failure is logged with gateway, domain and
   * frame type, and the socket closed with `internal` (the agent resumes from its last seq).
   */
  message(ws: WebSocket, message: string | ArrayBuffer): void {
    const { sockets } = this.deps;
    const attachment = sockets.attachment(ws);
    // Frames that arrive after the edge closed a socket change nothing.
    if (attachment === undefined || !sockets.isOpen(ws)) return;
    const now = Date.now();
    let frameType = "unparsed";
    try {
      const refusal = this.budgetOf(attachment.gateway, now)?.frame(frameChars(message), now);
      if (refusal !== undefined) {
        this.overBudget(ws, attachment.gateway, refusal);
        return;
      }
      const parsed = parseAgentFrame(message);
      if (!parsed.ok) {
        sockets.closeWithError(ws, parsed.code, parsed.reason);
        return;
      }
      frameType = parsed.frame.type;
      this.onFrame(ws, attachment, parsed.frame, now);
    } catch (error) {
      logLine("error", "handling a gateway frame failed", {
        domain: this.deps.domain,
        gateway: attachment.gateway,
        frame: frameType,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
      sockets.closeWithError(
        ws,
        "internal",
        `the edge failed handling a ${frameType} frame; resume from your last seq`,
      );
    }
  }

  /** Frame handling per session state: hello first, exactly once; reports only after it. */
  private onFrame(ws: WebSocket, attachment: SocketAttachment, frame: AgentFrame, now: number): void {
    switch (attachment.state) {
      case "greeting":
        if (frame.type === "hello") this.hello(ws, attachment, frame, now);
        else this.refuse(ws, "bad_frame", `the first frame on a socket must be hello, not ${frame.type}`);
        return;
      case "live":
        if (frame.type === "hello") this.refuse(ws, "bad_frame", "one hello per socket: reconnect to start over");
        else this.report(ws, attachment.gateway, frame, now);
        return;
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
      this.refuse(ws, "not_configured", `gateway ${gateway} does not serve ${domain}`);
      return;
    }
    const refusal = this.budgetOf(gateway, now)?.hello(now);
    if (refusal !== undefined) {
      this.overBudget(ws, gateway, refusal);
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
    for (const frame of backlogFrames(committed, mode, request)) if (!sockets.send(ws, frame)) return;
    if (mode === "replay") gateways.resumed(gateway, hello.since, now);
    sockets.setState(ws, attachment, "live");
    gateways.save(gateway, { connected_at: now });
  }

  /** What an agent reports about its gateway and the keys it installed or removed. */
  private report(ws: WebSocket, gateway: string, frame: Report, now: number): void {
    const { log, gateways, events } = this.deps;
    switch (frame.type) {
      case "ack": {
        // An agent acknowledges what it was sent: never past what is committed.
        const head = log.committedHead;
        if (frame.seq > head) {
          this.refuse(ws, "bad_frame", `ack seq ${frame.seq} is beyond the domain's head ${head}`);
          return;
        }
        this.deps.sockets.acked(ws, frame.seq);
        gateways.ack(gateway, frame.seq, now);
        for (const failure of frame.failed ?? []) {
          const row = log.committed(failure.public_key);
          if (row && concerns(row, gateway))
            events.record(failure.public_key, {
              gateway,
              kind: "failed",
              reason: failure.reason,
              at: now,
              seq: row.seq,
            });
        }
        return;
      }
      case "interface": {
        // From now on the key is refused as a node key. A node's key announced by a gateway
        // is a misconfiguration or a rogue gateway locking a router out: say so.
        if (log.committed(frame.public_key)?.removed_at === null) {
          logLine("warn", "gateway announced a node's registered key as its own; refused as a node key from now on", {
            domain: this.deps.domain,
            gateway,
          });
        }
        const problem = externalAddressProblem(frame.address);
        if (problem !== undefined) {
          logLine("warn", "gateway reported an external address v2 cannot answer with; v2 sends no node there", {
            domain: this.deps.domain,
            gateway,
            address: frame.address,
            problem,
          });
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
        log.markLive(frame.keys, gateway, now, now - LIVE_INTERVAL_MS);
        // Parker confirms allocations with these: only the gateway's own nodes count.
        this.deps.onLive?.(
          frame.keys.filter((key) => this.shouldHave(key, gateway)),
          now,
        );
        return;
      case "verified": {
        // Like an ack's failures: only about keys the gateway should have now.
        const shouldHave = (key: string) => this.shouldHave(key, gateway);
        this.deps.sockets.verified(ws);
        this.deps.repairs.verified(
          gateway,
          {
            ...frame,
            repaired: frame.repaired.filter(shouldHave),
            failed: (frame.failed ?? []).filter((f) => shouldHave(f.public_key)),
          },
          now,
        );
        return;
      }
      case "adopted":
        if (this.deps.adopter) this.deps.adopter.adopt(gateway, frame.keys, now);
        else {
          logLine(
            "warn",
            "gateway reported peers it found in a Parker domain: ignored (adoption is for batman-adv domains)",
            {
              domain: this.deps.domain,
              gateway,
              keys: frame.keys.length,
            },
          );
        }
        return;
      case "removed":
        for (const entry of frame.entries) {
          const row = log.committed(entry.public_key);
          if (row && row.removed_at === null && concerns(row, gateway)) {
            events.record(entry.public_key, {
              gateway,
              kind: "removed",
              reason: entry.reason,
              // An agent's clock may run ahead; a removal cannot have happened later than now.
              at: Math.min(entry.at, now),
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

  /** A key in the desired set of this gateway now (its v2 or Parker keys, v1 keys). */
  private shouldHave(key: string, gateway: string): boolean {
    const row = this.deps.log.committed(key);
    return row !== undefined && row.removed_at === null && concerns(row, gateway);
  }

  private budgetOf(gateway: string, now: number): GatewayBudget | undefined {
    const { budget } = this.deps;
    if (budget === undefined) return undefined;
    let spent = this.budgets.get(gateway);
    if (spent === undefined) {
      spent = new GatewayBudget(budget, now);
      this.budgets.set(gateway, spent);
    }
    return spent;
  }

  private overBudget(ws: WebSocket, gateway: string, why: string): void {
    const { domain } = this.deps;
    logLine("warn", "gateway over budget; socket closed", { domain, gateway, why });
    this.refuse(ws, "over_budget", `gateway ${gateway} sent ${why} on domain ${domain}; come back after a while`);
  }

  private refuse(ws: WebSocket, code: ErrorCode, message: string): void {
    this.deps.sockets.closeWithError(ws, code, message);
  }
}

/** A report of a gateway counts for keys it should have, or should remove (tombstones). */
const concerns = (row: RegistrationRow, gateway: string): boolean =>
  row.removed_at !== null || includes(stateOf(row), gateway);

/** The size a frame counts against the byte budget: characters of text, bytes of binary. */
const frameChars = (message: string | ArrayBuffer): number =>
  typeof message === "string" ? message.length : message.byteLength;
