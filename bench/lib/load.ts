import http from "node:http";
import type { Socket } from "node:net";
import { exchangeBody } from "./keys.ts";
import { selfCpuMs } from "./proc.ts";
import { type LatencySummary, summarize } from "./stats.ts";
import { wrkKey } from "./wrk.ts";

/**
 * Closed-loop HTTP load generator: `concurrency` clients, each with its own keep-alive
 * connection (http.Agent, maxSockets = concurrency, TCP_NODELAY), sending the next request
 * as soon as the previous answer's body has been read. Latency = request written to the
 * last byte of the answer, per request, kept exactly (no bucketing) and summarised.
 */
export interface LoadOptions {
  base: URL;
  /** The request path, or the path of request number i (e.g. a GET with a fresh query). */
  path: string | ((i: number) => string);
  concurrency: number;
  /** Stop after this long (ms) ... */
  durationMs?: number;
  /** ... or after this many requests, whichever comes first. */
  maxRequests?: number;
  /** Body of request number i (0-based, in send order). */
  body?: (i: number) => string;
  method?: string;
  /** Called with each answer (status, body text) when set; otherwise the body is drained. */
  onAnswer?: (i: number, status: number, body: string, sentAt: number) => void;
  /** Open loop: request i is not sent before this performance.now() time (latency still counts from sending). */
  pace?: (i: number) => number;
  /** Keep per-request start times and latencies for timeline analysis. */
  keepSamples?: boolean;
}

export interface LoadResult extends LatencySummary {
  requests: number;
  ok: number;
  statuses: Record<string, number>;
  errors: number;
  elapsedMs: number;
  rps: number;
  /** TCP connections opened (should equal concurrency with keep-alive). */
  connections: number;
  /** CPU the generator process used per request, ms (all of this Node process). */
  clientCpuMsPerReq: number;
  samples?: { start: Float64Array; latency: Float64Array };
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { base, concurrency } = options;
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: concurrency,
    maxFreeSockets: concurrency,
    scheduling: "fifo",
  });
  const sockets = new WeakSet<Socket>();
  let connections = 0;
  const capacity =
    options.maxRequests ?? Math.max(1_000_000, Math.ceil(((options.durationMs ?? 10_000) / 1000) * 50_000));
  const latency = new Float64Array(Math.min(capacity, 5_000_000));
  const starts = options.keepSamples ? new Float64Array(latency.length) : undefined;
  const statuses: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  let done = 0;
  const method = options.method ?? "POST";
  const host = base.hostname;
  const port = Number(base.port);
  const t0 = performance.now();
  const deadline = options.durationMs === undefined ? Number.POSITIVE_INFINITY : t0 + options.durationMs;
  const cpu0 = selfCpuMs();

  const one = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const body = options.body ? options.body(i) : undefined;
      const headers: Record<string, string | number> = {};
      if (body !== undefined) {
        headers["Content-Type"] = "application/x-www-form-urlencoded";
        headers["Content-Length"] = Buffer.byteLength(body);
      }
      const sent = performance.now();
      const path = typeof options.path === "function" ? options.path(i) : options.path;
      const req = http.request({ agent, host, port, path, method, headers }, (res) => {
        const status = res.statusCode ?? 0;
        let text = "";
        if (options.onAnswer) {
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            text += chunk;
          });
        } else res.resume();
        res.on("end", () => {
          const at = performance.now();
          if (done < latency.length) {
            latency[done] = at - sent;
            if (starts) starts[done] = sent - t0;
            done++;
          }
          statuses[status] = (statuses[status] ?? 0) + 1;
          options.onAnswer?.(i, status, text, sent);
          resolve();
        });
      });
      req.on("socket", (socket: Socket) => {
        if (!sockets.has(socket)) {
          sockets.add(socket);
          socket.setNoDelay(true);
          connections++;
        }
      });
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end(body);
    });

  const client = async (): Promise<void> => {
    for (;;) {
      if (performance.now() >= deadline) return;
      if (options.maxRequests !== undefined && next >= options.maxRequests) return;
      const i = next++;
      if (options.pace) {
        const wait = options.pace(i) - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      }
      await one(i);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsedMs = performance.now() - t0;
  const cpuMs = selfCpuMs() - cpu0;
  agent.destroy();
  const ok = statuses["200"] ?? 0;
  return {
    requests: done,
    ok,
    statuses,
    errors,
    elapsedMs,
    rps: (done / elapsedMs) * 1000,
    connections,
    clientCpuMsPerReq: done > 0 ? cpuMs / done : Number.NaN,
    ...summarize(latency, done),
    ...(starts ? { samples: { start: starts.subarray(0, done), latency: latency.subarray(0, done) } } : {}),
  };
}

/**
 * Registers the key set wrk's "repeated" bodies rotate over (`wrkKey(label, 0..n-1)`, v1) and
 * fails unless every registration was answered 200: a figure on a partial set measures
 * new keys where it claims repeated ones.
 */
export async function registerKeySet(base: URL, domain: string, label: string, n: number): Promise<void> {
  const r = await runLoad({
    base,
    path: "/api/v1/wg/key/exchange",
    concurrency: 64,
    maxRequests: n,
    body: (i) => exchangeBody(domain, wrkKey(label, i)),
  });
  if (r.ok !== n) throw new Error(`key set ${label}: ${n - r.ok} of ${n} registrations not answered 200`);
}
