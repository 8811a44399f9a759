import WebSocket from "ws";

export const BENCH_TOKENS: Record<string, string> = Object.fromEntries(
  ["gw01", "gw02", "gw03", "gw04"].map((g) => [g, `bench-token-${g}`]),
);

export interface BenchGatewayOptions {
  since?: number;
  /** Send interface + load frames after the welcome, so v2 can choose this gateway. */
  v2?: boolean;
  /** Remember when each key first arrived (for registration -> frame latency). */
  track?: boolean;
}

/**
 * A gateway's socket that does what a fast agent does and nothing else: hello, take the
 * snapshot/replay, then ack every `peers` frame at once (one cumulative ack per frame), and
 * answer every `verify` (repair signal) with all keys in place.
 * Frames are parsed with JSON.parse only (no schema), so the client costs little CPU.
 */
export class BenchGateway {
  readonly received = new Map<string, number>();
  adds = 0;
  removes = 0;
  frames = 0;
  maxSeq = 0;
  /** `verify` frames (repair signals) received, the keys they listed, and when each key was last listed. */
  verifyFrames = 0;
  verifyKeys = 0;
  /** Keys listed again within this window (ms) since their previous listing. */
  verifyRepeats = 0;
  readonly verifiedAt = new Map<string, number>();
  welcome: { mode: string; head: number } | undefined;
  snapshotKeys = 0;
  snapshotDone = false;
  closed: { code: number; reason: string } | undefined;
  readonly ws: WebSocket;
  private readonly track: boolean;

  private constructor(ws: WebSocket, options: BenchGatewayOptions, name: string) {
    this.ws = ws;
    this.track = options.track ?? true;
    ws.on("message", (data) => {
      const at = performance.now();
      const frame = JSON.parse(data.toString());
      switch (frame.type) {
        case "welcome":
          this.welcome = { mode: frame.mode, head: frame.head };
          if (options.v2) {
            const n = Number(name.replace(/\D/g, "")) || 1;
            this.send({
              type: "interface",
              public_key: "PcKkakZcTEx3LKh+G06Opb8/esg08aWK33A5/Ff1YXE=",
              port: 40000 + n,
              address: `${name}.bench.invalid`,
              link_address: `fe80::${n.toString(16)}`,
              // Parker's IPv4 next hop (ignored in batman-adv domains).
              address4: `10.255.255.${n}`,
            });
            this.send({ type: "load", connected: 0, load: 0, peers: 0 });
          }
          return;
        case "snapshot":
          this.snapshotKeys += frame.keys.length;
          if (frame.done) {
            this.snapshotDone = true;
            this.send({ type: "ack", seq: frame.head });
          }
          return;
        case "peers": {
          this.frames++;
          let max = 0;
          for (const entry of frame.entries) {
            if (entry.op === "add") {
              this.adds++;
              if (this.track && !this.received.has(entry.public_key)) this.received.set(entry.public_key, at);
            } else this.removes++;
            if (entry.seq > max) max = entry.seq;
          }
          if (max > this.maxSeq) this.maxSeq = max;
          this.send({ type: "ack", seq: max });
          return;
        }
        case "verify": {
          // A healthy agent: every key is in place, nothing to repair.
          this.verifyFrames++;
          this.verifyKeys += frame.keys.length;
          for (const key of frame.keys as string[]) {
            const before = this.verifiedAt.get(key);
            if (before !== undefined && at - before < 60_000) this.verifyRepeats++;
            this.verifiedAt.set(key, at);
          }
          this.send({ type: "verified", ok: frame.keys.length, repaired: [] });
          return;
        }
        case "error":
          return;
      }
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
  }

  static connect(base: URL, gateway: string, domain: string, options: BenchGatewayOptions = {}): Promise<BenchGateway> {
    const url = new URL(`/api/v1/gateways/${gateway}/domains/${domain}/socket`, base);
    url.protocol = "ws:";
    const ws = new WebSocket(url, {
      headers: { Authorization: `Bearer ${BENCH_TOKENS[gateway]}` },
      perMessageDeflate: false,
    });
    const gw = new BenchGateway(ws, options, gateway);
    return new Promise((resolve, reject) => {
      ws.once("open", () => {
        gw.send({ type: "hello", v: 1, agent: "bench/1", since: options.since ?? 0 });
        const started = performance.now();
        const wait = (): void => {
          if (gw.snapshotDone || gw.welcome?.mode === "replay") resolve(gw);
          else if (performance.now() - started > 10_000) reject(new Error(`${gateway}/${domain}: no welcome`));
          else setTimeout(wait, 2);
        };
        wait();
      });
      ws.once("unexpected-response", (_req, res) => reject(new Error(`socket refused: HTTP ${res.statusCode}`)));
      ws.once("error", reject);
    });
  }

  send(frame: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, 2000);
      this.ws.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      this.ws.close(1000);
    });
  }
}
