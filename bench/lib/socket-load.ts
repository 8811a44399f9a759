/**
 * A second, uncorrected load generator: raw HTTP/1.1 keep-alive over `net` sockets, each
 * request's latency taken exactly (send → last byte of the answer), nothing added. It exists
 * because wrk 4 applies a coordinated-omission correction before it reports anything
 * (`stats_correct` in wrk's main, before the Lua `done()` sees the histogram): every answer
 * slower than twice the mean interval per connection adds synthetic samples at that
 * interval, so one pause of the server becomes a p99. Both views are useful; the bench shows
 * them side by side (bench/README.md, "Where the tails come from").
 *
 * Closed loop: C connections, each sends its next request when the answer came.
 * Open loop: requests due at a fixed rate, sent on an idle connection of a pool (queued
 * client-side when none is idle); latency counts from the due time, so a server pause costs
 * every request that should have been sent meanwhile, without any correction.
 */
import net from "node:net";
import { cpuMsOf } from "./proc.ts";
import { type LatencySummary, summarize } from "./stats.ts";

export interface SocketLoadOptions {
  url: URL;
  path: string;
  /** The request body for the i-th request (the Gluon client's text). */
  body: (i: number) => string;
  durationS: number;
  /** Closed loop: this many connections. */
  connections?: number;
  /** Open loop: requests per second (a pool of `pool` connections, default 256). */
  rate?: number;
  pool?: number;
  /** The serving process, for CPU per request. */
  pid?: number | undefined;
}

export interface Stall {
  /** ms after the start. */
  at: number;
  /** Requests slower than the stall threshold that started within 20 ms of each other. */
  requests: number;
  worstMs: number;
}

export interface SocketLoadResult extends LatencySummary {
  requests: number;
  rps: number;
  /** Answers other than 200. */
  non200: number;
  cpuMsPerReq: number;
  /** Requests over STALL_MS, grouped by when they started: whole-server pauses vs single waits. */
  stalls: Stall[];
}

/** A request slower than this counts towards a stall. */
export const STALL_MS = 30;
/** Requests left unanswered this long after the end make the run fail instead of hang. */
const DRAIN_TIMEOUT_MS = 30_000;

/**
 * Groups slow requests by start time: requests that began within `windowMs` of the previous
 * slow one belong to the same stall. Pure, for the README's two kinds of tail: a stall of
 * every connection at once (the runtime paused) or of one request while others went on.
 */
export function groupStalls(slow: ReadonlyArray<{ at: number; ms: number }>, windowMs = 20): Stall[] {
  const groups: Stall[] = [];
  let last = Number.NEGATIVE_INFINITY;
  for (const s of [...slow].sort((a, b) => a.at - b.at)) {
    const g = groups.at(-1);
    if (g && s.at - last <= windowMs) {
      g.requests++;
      g.worstMs = Math.max(g.worstMs, s.ms);
    } else {
      groups.push({ at: s.at, requests: 1, worstMs: s.ms });
    }
    last = s.at;
  }
  return groups;
}

/** The parsed head of one answer: status and body length (the edge always sends Content-Length). */
export function parseHead(head: string): { status: number; length: number } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? Number.NaN);
  if (!Number.isFinite(length)) throw new Error(`answer without Content-Length: ${head.slice(0, 200)}`);
  return { status, length };
}

interface Conn {
  socket: net.Socket;
  busy: boolean;
  /** When the current request was sent (closed loop) or due (open loop). */
  since: number;
  buffer: Buffer;
}

export async function runSocketLoad(options: SocketLoadOptions): Promise<SocketLoadResult> {
  const open = options.rate !== undefined;
  const count = open ? (options.pool ?? 256) : (options.connections ?? 16);
  const port = Number(options.url.port);
  const host = options.url.hostname;
  const latencies: number[] = [];
  const slow: Array<{ at: number; ms: number }> = [];
  let non200 = 0;
  let sent = 0;
  const queue: number[] = [];
  const conns: Conn[] = [];
  let t0 = 0;
  let stopAt = Number.POSITIVE_INFINITY;
  let finish: () => void = () => {};
  let fail: (e: Error) => void = () => {};
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });

  const send = (c: Conn, since: number): void => {
    const body = options.body(sent++);
    c.busy = true;
    c.since = since;
    c.socket.write(
      `POST ${options.path} HTTP/1.1\r\nHost: ${options.url.host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  };
  const answered = (c: Conn, status: number): void => {
    const now = performance.now();
    const ms = now - c.since;
    latencies.push(ms);
    if (ms > STALL_MS) slow.push({ at: c.since - t0, ms });
    if (status !== 200) non200++;
    c.busy = false;
    if (open) {
      const due = queue.shift();
      if (due !== undefined) send(c, due);
      else if (now >= stopAt && conns.every((x) => !x.busy)) finish();
    } else if (now < stopAt) {
      send(c, now);
    } else if (conns.every((x) => !x.busy)) {
      finish();
    }
  };

  for (let i = 0; i < count; i++) {
    const socket = net.connect(port, host);
    socket.setNoDelay(true);
    const c: Conn = { socket, busy: false, since: 0, buffer: Buffer.alloc(0) };
    socket.on("data", (chunk: Buffer) => {
      c.buffer = c.buffer.length === 0 ? chunk : Buffer.concat([c.buffer, chunk]);
      for (;;) {
        const end = c.buffer.indexOf("\r\n\r\n");
        if (end < 0) return;
        const { status, length } = parseHead(c.buffer.subarray(0, end).toString("latin1"));
        if (c.buffer.length < end + 4 + length) return;
        c.buffer = c.buffer.subarray(end + 4 + length);
        answered(c, status);
      }
    });
    socket.on("error", (e) => fail(e));
    socket.on("close", () => {
      if (c.busy) fail(new Error("the server closed a kept-alive connection with a request in flight"));
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    conns.push(c);
  }

  const cpuBefore = options.pid ? cpuMsOf(options.pid) : Number.NaN;
  t0 = performance.now();
  stopAt = t0 + options.durationS * 1000;
  let ticker: NodeJS.Immediate | undefined;
  if (open) {
    const interval = 1000 / options.rate!;
    let i = 0;
    const tick = (): void => {
      const now = performance.now();
      for (let due = t0 + i * interval; due <= now && due < stopAt; due = t0 + ++i * interval) {
        const idle = conns.find((c) => !c.busy);
        if (idle) send(idle, due);
        else queue.push(due);
      }
      if (now < stopAt) ticker = setImmediate(tick);
      else if (conns.every((c) => !c.busy) && queue.length === 0) finish();
    };
    tick();
  } else {
    for (const c of conns) send(c, performance.now());
  }
  const guard = setTimeout(
    () => fail(new Error(`${conns.filter((c) => c.busy).length} requests unanswered after the run`)),
    options.durationS * 1000 + DRAIN_TIMEOUT_MS,
  );
  try {
    await finished;
  } finally {
    clearTimeout(guard);
    if (ticker) clearImmediate(ticker);
    for (const c of conns) c.socket.destroy();
  }
  const elapsedS = (performance.now() - t0) / 1000;
  const cpu = options.pid ? cpuMsOf(options.pid) - cpuBefore : Number.NaN;
  return {
    ...summarize(latencies),
    requests: latencies.length,
    rps: latencies.length / elapsedS,
    non200,
    cpuMsPerReq: cpu / Math.max(1, latencies.length),
    stalls: groupStalls(slow),
  };
}
