import { type AgentFrame, type EdgeFrame, type HelloFrame, parseEdgeFrame } from "@wgkex-edge/shared";
import WebSocket from "ws";
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import { backoffDelay } from "./backoff.ts";

export type ConnectionState = "connecting" | "open" | "closed" | "stopped";

export interface EdgeConnectionOptions {
  readonly url: string;
  readonly token: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly pingIntervalMs: number;
  readonly backoff: { baseMs: number; maxMs: number };
  readonly random?: () => number;
  /** Asked at every (re)connect: the hello to send first (the session builds it). */
  readonly hello: () => HelloFrame;
  readonly onFrame: (frame: EdgeFrame) => void;
  /** A text frame the shared schemas refused (the session decides what it means). */
  readonly onBadFrame?: (text: string, reason: string) => void;
  readonly onState?: (state: ConnectionState) => void;
}

/**
 * One WebSocket to the edge for one domain, the transport under `EdgeSession`: the
 * session's hello on open, frames parsed with the shared schemas, ping keep-alive
 * (terminate without pong), reconnect with full-jitter backoff.
 */
export class EdgeConnection {
  readonly #o: EdgeConnectionOptions;
  #ws: WebSocket | undefined;
  #attempt = 0;
  #stopped = false;
  #retryTimer: unknown;
  #pingTimer: unknown;
  #alive = false;
  #extraDelayMs = 0;

  constructor(options: EdgeConnectionOptions) {
    this.#o = options;
  }

  get open(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.#connect();
  }

  /** Send one frame; false when the socket is not open (the frame is dropped). */
  send(frame: AgentFrame): boolean {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  /** A welcome arrived: the connection is healthy, reset the backoff. */
  welcomed(): void {
    this.#attempt = 0;
  }

  /** Drop the socket now and connect again with the usual backoff (the session starts over). */
  restart(): void {
    this.#ws?.terminate();
  }

  /** Make the next reconnect wait at least this long (e.g. after `error replaced`). */
  delayNextReconnect(ms: number): void {
    this.#extraDelayMs = ms;
  }

  /** Close cleanly (1000) and stop reconnecting. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#o.clock.clearTimeout(this.#retryTimer);
    this.#o.clock.clearInterval(this.#pingTimer);
    const ws = this.#ws;
    if (!ws) return;
    if (ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const done = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2000);
      ws.once("close", () => {
        clearTimeout(done);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, "agent stopping");
    });
    this.#o.onState?.("stopped");
  }

  /** Drop the socket without a close handshake (crash simulation, tests). */
  kill(): void {
    this.#stopped = true;
    this.#o.clock.clearTimeout(this.#retryTimer);
    this.#o.clock.clearInterval(this.#pingTimer);
    this.#ws?.terminate();
  }

  #connect(): void {
    if (this.#stopped) return;
    this.#o.onState?.("connecting");
    const ws = new WebSocket(this.#o.url, {
      headers: { authorization: `Bearer ${this.#o.token}` },
      handshakeTimeout: 15_000,
      maxPayload: 16 * 1024 * 1024,
    });
    this.#ws = ws;
    ws.on("open", () => {
      const hello = this.#o.hello();
      ws.send(JSON.stringify(hello));
      this.#o.logger.info("edge socket open", { since: hello.since, snapshot: hello.snapshot === true });
      this.#o.onState?.("open");
      this.#alive = true;
      this.#pingTimer = this.#o.clock.setInterval(() => {
        if (!this.#alive) {
          this.#o.logger.warn("edge did not answer ping; dropping the socket");
          ws.terminate();
          return;
        }
        this.#alive = false;
        ws.ping();
      }, this.#o.pingIntervalMs);
    });
    ws.on("pong", () => {
      this.#alive = true;
    });
    ws.on("message", (data, isBinary) => {
      this.#alive = true;
      const text = isBinary ? undefined : data.toString();
      const parsed = parseEdgeFrame(text);
      if (!parsed.ok) {
        if (text !== undefined && this.#o.onBadFrame) this.#o.onBadFrame(text, parsed.reason);
        else this.#o.logger.warn("ignoring bad frame from the edge", { reason: parsed.reason });
        return;
      }
      this.#o.onFrame(parsed.frame);
    });
    ws.on("unexpected-response", (_req, res) => {
      this.#o.logger.error("edge refused the socket", {
        status: res.statusCode,
        hint: res.statusCode === 401 ? "check gateway name, domain and token_file" : undefined,
      });
      ws.terminate();
    });
    ws.on("error", (e) => {
      this.#o.logger.warn("edge socket error", { error: e.message });
    });
    ws.on("close", (code, reason) => {
      this.#o.clock.clearInterval(this.#pingTimer);
      if (this.#ws !== ws) return;
      this.#o.onState?.("closed");
      if (this.#stopped) return;
      const delay = Math.max(backoffDelay(this.#attempt++, this.#o.backoff, this.#o.random), this.#extraDelayMs);
      this.#extraDelayMs = 0;
      this.#o.logger.info("edge socket closed; reconnecting", { code, reason: reason.toString(), delay_ms: delay });
      this.#retryTimer = this.#o.clock.setTimeout(() => this.#connect(), delay);
    });
  }
}
