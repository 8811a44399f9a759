import WebSocket from "ws";

/**
 * A CPU profile of a workerd isolate over the V8 inspector (workerd's `--inspector-addr`),
 * summarised by function: where the JavaScript time of the request path goes. Sampling, so
 * shares are estimates; native work (the runtime's HTTP, RPC, SQLite) shows up under the
 * JavaScript frame that called it or as "(program)"/"(garbage collector)".
 */
export interface ProfileEntry {
  fn: string;
  /** Share of all samples, 0..1: the function's own time (self). */
  self: number;
  /** Share of samples with the function anywhere on the stack. */
  total: number;
}

interface CdpNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export class IsolateProfiler {
  private readonly ws: WebSocket;
  private nextId = 1;
  private readonly pending = new Map<number, (result: unknown) => void>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.id !== undefined) this.pending.get(msg.id)?.(msg.result ?? msg.error);
    });
  }

  /** Connect to the first worker target of a workerd inspector at `host:port`. */
  static async connect(inspector: string, target?: string): Promise<IsolateProfiler> {
    const list = (await (await fetch(`http://${inspector}/json/list`)).json()) as Array<{
      id: string;
      webSocketDebuggerUrl: string;
    }>;
    const entry = list.find((t) => target === undefined || t.id === target) ?? list[0];
    if (entry === undefined) throw new Error(`no inspector target at ${inspector}`);
    const ws = new WebSocket(entry.webSocketDebuggerUrl, { perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    return new IsolateProfiler(ws);
  }

  private call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async start(intervalUs = 200): Promise<void> {
    await this.call("Profiler.enable");
    await this.call("Profiler.setSamplingInterval", { interval: intervalUs });
    await this.call("Profiler.start");
  }

  /** Stop and summarise: the `top` functions by self time. */
  async stop(top = 40): Promise<{ samples: number; entries: ProfileEntry[] }> {
    const result = (await this.call("Profiler.stop")) as {
      profile: { nodes: CdpNode[]; samples: number[] };
    };
    return summariseProfile(result.profile.nodes, result.profile.samples, top);
  }

  close(): void {
    this.ws.close();
  }
}

const label = (n: CdpNode): string => {
  const { functionName, url, lineNumber } = n.callFrame;
  const file = url.split("/").at(-1) ?? "";
  return `${functionName || "(anonymous)"}${file ? ` ${file}:${lineNumber + 1}` : ""}`;
};

export function summariseProfile(
  nodes: readonly CdpNode[],
  samples: readonly number[],
  top: number,
): { samples: number; entries: ProfileEntry[] } {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const id of samples) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const name = label(node);
    self.set(name, (self.get(name) ?? 0) + 1);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = label(byId.get(at)!);
      if (!seen.has(n)) {
        seen.add(n);
        total.set(n, (total.get(n) ?? 0) + 1);
      }
    }
  }
  const count = samples.length || 1;
  const entries = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([fn, s]) => ({ fn, self: s / count, total: (total.get(fn) ?? 0) / count }));
  return { samples: samples.length, entries };
}
