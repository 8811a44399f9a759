import { type EdgeFrame, type ErrorCode, SESSION_ERRORS } from "@wgkex-edge/shared";
import { logLine } from "../../log.ts";
import { type EdgeSessionState, parseAttachment, type SocketAttachment } from "./socket-attachment.ts";
import { UnackedFrames } from "./unacked-frames.ts";

/** Codes that mean the peer never sent a close frame: nothing to reciprocate. */
const NO_CLOSE_FRAME = new Set([1005, 1006, 1015]);

/**
 * The object's gateway sockets (hibernation API), each tagged with its gateway and carrying
 * one typed attachment. Sockets and attachments survive eviction; the parsed attachments
 * are cached per socket object, which a wake-up replaces.
 *
 * What is sent to a socket and not yet acknowledged is counted (`UnackedFrames`): workerd
 * has no `bufferedAmount`, and a gateway that stops reading would otherwise make the runtime
 * buffer every frame for it. Past `unackedLimit` characters the socket is closed with
 * `over_budget` instead of being sent more.
 */
export class GatewaySockets {
  private readonly ctx: DurableObjectState;
  private readonly unackedLimit: number | undefined;
  private readonly attachments = new WeakMap<WebSocket, SocketAttachment>();
  private readonly unacked = new WeakMap<WebSocket, UnackedFrames>();

  constructor(ctx: DurableObjectState, unackedLimit: number | undefined) {
    this.ctx = ctx;
    this.unackedLimit = unackedLimit;
  }

  /** Accept a gateway's socket, its session awaiting the hello. */
  accept(gateway: string, now: number): Response {
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, [gateway]);
    this.attach(server, { gateway, state: "greeting", connectedAt: now });
    return new Response(null, { status: 101, webSocket: client });
  }

  attachment(ws: WebSocket): SocketAttachment | undefined {
    let attachment = this.attachments.get(ws);
    if (attachment === undefined) {
      attachment = parseAttachment(ws.deserializeAttachment());
      if (attachment !== undefined) this.attachments.set(ws, attachment);
    }
    return attachment;
  }

  setState(ws: WebSocket, attachment: SocketAttachment, state: EdgeSessionState): void {
    this.attach(ws, { ...attachment, state });
  }

  /** Sockets whose session is live, with their gateway: where committed changes go. */
  *live(): Iterable<{ ws: WebSocket; gateway: string }> {
    for (const ws of this.ctx.getWebSockets()) {
      const a = this.attachment(ws);
      if (a?.state === "live") yield { ws, gateway: a.gateway };
    }
  }

  /** Gateways with an open, live socket (CLOSING ones do not count). */
  online(except?: WebSocket): Set<string> {
    const online = new Set<string>();
    for (const ws of this.ctx.getWebSockets()) {
      if (ws === except || ws.readyState !== WebSocket.OPEN) continue;
      const a = this.attachment(ws);
      if (a?.state === "live") online.add(a.gateway);
    }
    return online;
  }

  /** Open for frames both ways: not yet closed by either side. */
  isOpen(ws: WebSocket): boolean {
    return ws.readyState === WebSocket.OPEN;
  }

  /** Send a frame, unless that would put more than the limit unacknowledged on the socket. */
  send(ws: WebSocket, frame: EdgeFrame): boolean {
    if (ws.readyState !== WebSocket.OPEN) return false;
    const text = JSON.stringify(frame);
    const unacked = this.unackedOf(ws);
    if (unacked !== undefined && !unacked.sending(frame, text.length)) {
      const gateway = this.attachment(ws)?.gateway;
      logLine("warn", "gateway not acknowledging; socket closed", {
        domain: this.ctx.id.name,
        gateway,
        owed: unacked.owed,
      });
      this.closeWithError(
        ws,
        "over_budget",
        `more than ${this.unackedLimit} bytes of frames sent without an ack: read and acknowledge, then reconnect`,
      );
      return false;
    }
    return this.write(ws, text);
  }

  /** The agent on this socket acknowledged everything up to `seq`. */
  acked(ws: WebSocket, seq: number): void {
    this.unacked.get(ws)?.acked(seq);
  }

  /** The agent on this socket answered the `verify` frames it was sent. */
  verified(ws: WebSocket): void {
    this.unacked.get(ws)?.verified();
  }

  /** Tell the agent why, then close with the code the shared session table gives the error. */
  closeWithError(ws: WebSocket, code: ErrorCode, message: string): void {
    this.write(ws, JSON.stringify({ type: "error", code, message: message.slice(0, 500) } satisfies EdgeFrame));
    try {
      ws.close(SESSION_ERRORS[code].closeCode, code);
    } catch {
      // already closing
    }
  }

  /** A newer socket of a gateway takes over: its older ones are closed. */
  replaceOthers(ws: WebSocket, gateway: string): void {
    for (const other of this.ctx.getWebSockets(gateway)) {
      if (other !== ws) this.closeWithError(other, "replaced", "a newer connection of this gateway took over");
    }
  }

  /**
   * A socket closed (`close` given) or failed. Reciprocates a close frame, or a Node client
   * sees 1006 after a timeout instead of a clean close. Returns the gateway when it has no
   * other live socket left: it just went offline.
   */
  closed(ws: WebSocket, close?: { code: number; reason: string }): string | undefined {
    if (close !== undefined && !NO_CLOSE_FRAME.has(close.code)) {
      try {
        ws.close(close.code, close.reason);
      } catch {
        // already closing
      }
    }
    const attachment = this.attachment(ws);
    if (attachment === undefined || this.online(ws).has(attachment.gateway)) return undefined;
    return attachment.gateway;
  }

  private unackedOf(ws: WebSocket): UnackedFrames | undefined {
    if (this.unackedLimit === undefined) return undefined;
    let unacked = this.unacked.get(ws);
    if (unacked === undefined) {
      unacked = new UnackedFrames(this.unackedLimit);
      this.unacked.set(ws, unacked);
    }
    return unacked;
  }

  private write(ws: WebSocket, text: string): boolean {
    if (ws.readyState !== WebSocket.OPEN) return false;
    try {
      ws.send(text);
      return true;
    } catch {
      return false;
    }
  }

  private attach(ws: WebSocket, attachment: SocketAttachment): void {
    ws.serializeAttachment(attachment);
    this.attachments.set(ws, attachment);
  }
}
