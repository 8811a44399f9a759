import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type AgentFrame,
  type EdgeFrame,
  type ErrorCode,
  MAX_ENTRIES_PER_FRAME,
  type PeerEntry,
  parseAgentFrame,
  SESSION_ERRORS,
} from "@wgkex-edge/shared";
import { WebSocket, WebSocketServer } from "ws";

/**
 * A small edge for tests: one domain's log of changes, speaking the protocol through the
 * shared schemas (every agent frame is parsed with parseAgentFrame; a bad one fails the test).
 */
export class FakeEdge {
  readonly log: PeerEntry[] = [];
  readonly frames: AgentFrame[] = [];
  readonly hellos: Array<{ since: number; snapshot?: boolean; auth: string | undefined; path: string }> = [];
  readonly badFrames: string[] = [];
  readonly closes: number[] = [];
  variant: "wgkex" | "gluon" = "wgkex";
  /** The domain the welcome names, and whether it is a Parker domain. */
  domain = "ffmuc_welt";
  dataplane: "batman" | "parker" = "batman";
  /** Refuse connections (simulated outage): HTTP 503. */
  down = false;
  sockets: WebSocket[] = [];
  readonly #wss: WebSocketServer;
  #listeners: Array<() => void> = [];

  private constructor(wss: WebSocketServer) {
    this.#wss = wss;
    wss.on("connection", (ws, req: IncomingMessage) => this.#accept(ws, req));
  }

  static async start(): Promise<FakeEdge> {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", verifyClient: (_info, cb) => cb(true) });
    await new Promise<void>((r) => wss.once("listening", () => r()));
    const edge = new FakeEdge(wss);
    wss.options.verifyClient = (_info, cb) => (edge.down ? cb(false, 503) : cb(true));
    return edge;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#wss.address() as AddressInfo).port}`;
  }

  get head(): number {
    return this.log.at(-1)?.seq ?? 0;
  }

  /** Append changes and send them live to connected agents. */
  publish(ops: Array<{ key: string; op?: "add" | "remove"; allowed_ips?: string[] }>): PeerEntry[] {
    const entries = ops.map(
      (o) =>
        ({
          seq: this.head + 1,
          public_key: o.key,
          op: o.op ?? "add",
          ...(o.allowed_ips ? { allowed_ips: o.allowed_ips } : {}),
        }) as PeerEntry,
    );
    // seq must grow per entry
    entries.forEach((e, i) => {
      e.seq = this.head + 1 + i;
    });
    this.log.push(...entries);
    for (const ws of this.sockets) this.#sendPages(ws, entries);
    return entries;
  }

  /** Append to the log without sending (changes made while the agent was away). */
  record(ops: Array<{ key: string; op?: "add" | "remove" }>): void {
    for (const o of ops) this.log.push({ seq: this.head + 1, public_key: o.key, op: o.op ?? "add" });
  }

  send(frame: EdgeFrame): void {
    for (const ws of this.sockets) ws.send(JSON.stringify(frame));
  }

  /** Send text as it is (frames of a newer edge, broken frames). */
  sendRaw(text: string): void {
    for (const ws of this.sockets) ws.send(text);
  }

  acks(): Array<Extract<AgentFrame, { type: "ack" }>> {
    return this.frames.filter((f): f is Extract<AgentFrame, { type: "ack" }> => f.type === "ack");
  }

  ofType<T extends AgentFrame["type"]>(type: T): Array<Extract<AgentFrame, { type: T }>> {
    return this.frames.filter((f): f is Extract<AgentFrame, { type: T }> => f.type === type);
  }

  /** Resolve when the predicate holds (checked after every frame and connection). */
  async until(pred: () => boolean, timeoutMs = 8000): Promise<void> {
    if (pred()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners = this.#listeners.filter((l) => l !== check);
        reject(new Error("timed out waiting for the agent"));
      }, timeoutMs);
      const check = () => {
        if (!pred()) return;
        clearTimeout(timer);
        this.#listeners = this.#listeners.filter((l) => l !== check);
        resolve();
      };
      this.#listeners.push(check);
    });
  }

  /** Close every socket on purpose, as the edge does: `error {code}`, then the code's close code. */
  refuse(code: ErrorCode, message: string = SESSION_ERRORS[code].meaning): void {
    for (const ws of this.sockets) {
      ws.send(JSON.stringify({ type: "error", code, message }));
      ws.close(SESSION_ERRORS[code].closeCode, code);
    }
  }

  dropAll(): void {
    for (const ws of this.sockets) ws.terminate();
    this.sockets = [];
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((r) => this.#wss.close(() => r()));
  }

  #notify(): void {
    for (const l of [...this.#listeners]) l();
  }

  #sendPages(ws: WebSocket, entries: PeerEntry[]): void {
    for (let i = 0; i < entries.length; i += MAX_ENTRIES_PER_FRAME) {
      ws.send(JSON.stringify({ type: "peers", entries: entries.slice(i, i + MAX_ENTRIES_PER_FRAME) }));
    }
  }

  #accept(ws: WebSocket, req: IncomingMessage): void {
    const auth = req.headers.authorization;
    ws.on("close", (code) => {
      this.closes.push(code);
      this.sockets = this.sockets.filter((s) => s !== ws);
      this.#notify();
    });
    ws.on("message", (data) => {
      const parsed = parseAgentFrame(data.toString());
      if (!parsed.ok) {
        this.badFrames.push(parsed.reason);
        this.#notify();
        return;
      }
      const frame = parsed.frame;
      this.frames.push(frame);
      if (frame.type === "hello") {
        this.hellos.push({ since: frame.since, snapshot: frame.snapshot, auth, path: req.url ?? "" });
        const snapshot = frame.snapshot === true || frame.since === 0 || frame.since > this.head;
        ws.send(
          JSON.stringify({
            type: "welcome",
            v: 1,
            domain: this.domain,
            gateway: "gw01",
            mode: snapshot ? "snapshot" : "replay",
            head: this.head,
            variant: this.variant,
            ...(this.dataplane === "parker" ? { dataplane: "parker" } : {}),
          }),
        );
        if (snapshot) {
          const current = new Map<string, PeerEntry>();
          for (const e of this.log) current.set(e.public_key, e);
          const adds = [...current.values()].filter((e) => e.op === "add");
          const keys = adds.map((e) => e.public_key);
          const ranges = adds.map((e) => e.allowed_ips ?? []);
          if (keys.length === 0) ws.send(JSON.stringify({ type: "snapshot", head: this.head, keys: [], done: true }));
          for (let i = 0; i < keys.length; i += MAX_ENTRIES_PER_FRAME) {
            const page = keys.slice(i, i + MAX_ENTRIES_PER_FRAME);
            ws.send(
              JSON.stringify({
                type: "snapshot",
                head: this.head,
                keys: page,
                ...(this.dataplane === "parker" ? { allowed_ips: ranges.slice(i, i + MAX_ENTRIES_PER_FRAME) } : {}),
                done: i + MAX_ENTRIES_PER_FRAME >= keys.length,
              }),
            );
          }
        } else {
          this.#sendPages(
            ws,
            this.log.filter((e) => e.seq > frame.since),
          );
        }
        this.sockets.push(ws);
      }
      this.#notify();
    });
  }
}

export { WebSocket };
