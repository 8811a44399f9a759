import { type EdgeFrame, gatewaySocketPath, PROTOCOL_VERSION, parseEdgeFrame } from "@wgkex-edge/shared";
import WebSocket from "ws";

/** A gateway's socket from Node's `ws`, speaking the protocol by hand: for edge-side tests. */
export class RawGateway {
  readonly frames: Array<EdgeFrame & { receivedAt: number }> = [];
  closed: { code: number; reason: string } | undefined;
  readonly ws: WebSocket;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data) => {
      const parsed = parseEdgeFrame(data.toString());
      if (!parsed.ok) throw new Error(`edge sent an invalid frame: ${parsed.reason}`);
      this.frames.push({ ...parsed.frame, receivedAt: performance.now() });
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
  }

  static connect(base: URL, gateway: string, domain: string, token: string): Promise<RawGateway> {
    const url = new URL(gatewaySocketPath(gateway, domain), base);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
    return new Promise((resolve, reject) => {
      const gw = new RawGateway(ws);
      ws.once("open", () => resolve(gw));
      ws.once("unexpected-response", (_req, res) => reject(new Error(`socket refused: HTTP ${res.statusCode}`)));
      ws.once("error", reject);
    });
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  hello(since: number, snapshot?: boolean): void {
    this.send({ type: "hello", v: PROTOCOL_VERSION, agent: "itest/1", since, ...(snapshot ? { snapshot } : {}) });
  }

  entries(): Array<{ seq: number; public_key: string; op: string; receivedAt: number }> {
    return this.frames.flatMap((f) =>
      f.type === "peers" ? f.entries.map((e) => ({ ...e, receivedAt: f.receivedAt })) : [],
    );
  }

  async until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${this.frames.length} frames so far)`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once("close", () => resolve());
      this.ws.close(1000);
    });
  }
}
