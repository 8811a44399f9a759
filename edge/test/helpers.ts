import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { type EdgeFrame, PROTOCOL_VERSION, parseEdgeFrame } from "@wgkex-edge/shared";
import { ADMIN_TOKEN, GATEWAY_TOKENS } from "./secrets.ts";

export { ADMIN_TOKEN, GATEWAY_TOKENS };

let ipCounter = 0;
/** A fresh client address per call: the rate limiter is not reset between tests. */
export const freshIp = (): string => `198.51.${Math.floor(++ipCounter / 250)}.${(ipCounter % 250) + 1}`;

let keyCounter = Math.floor(Math.random() * 1e6);
/** A valid, unique WireGuard public key: 32 random bytes, the first four a counter. */
export function freshKey(): string {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  new DataView(bytes.buffer).setUint32(0, ++keyCounter);
  return btoa(String.fromCharCode(...bytes));
}

/** What the Gluon client sends: busybox wget's form content type and this exact body text. */
export const gluonBody = (domain: string, key: string): string => `{"domain": "${domain}","public_key": "${key}"}`;

export function post(
  version: 1 | 2,
  body: string,
  init: { ip?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  return exports.default.fetch(`http://edge.test/api/v${version}/wg/key/exchange`, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      "CF-Connecting-IP": init.ip ?? freshIp(),
      ...init.headers,
    },
    body,
  });
}

export const register = (version: 1 | 2, domain: string, key: string, extra: Record<string, unknown> = {}) =>
  post(
    version,
    Object.keys(extra).length ? JSON.stringify({ domain, public_key: key, ...extra }) : gluonBody(domain, key),
  );

export function fetchEdge(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(`http://edge.test${path}`, init);
}

export const adminFetch = (path: string, init: RequestInit = {}) =>
  fetchEdge(path, { ...init, headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.headers ?? {}) } });

/** A gateway agent's socket, as the tests drive it: frames in, parsed frames out. */
export class GatewayClient {
  readonly frames: EdgeFrame[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: Array<() => void> = [];

  readonly ws: WebSocket;
  readonly gateway: string;
  readonly domain: string;

  constructor(ws: WebSocket, gateway: string, domain: string) {
    this.ws = ws;
    this.gateway = gateway;
    this.domain = domain;
    ws.addEventListener("message", (event) => {
      const parsed = parseEdgeFrame(event.data);
      if (!parsed.ok) throw new Error(`edge sent an invalid frame: ${parsed.reason}`);
      this.frames.push(parsed.frame);
      this.wake();
    });
    ws.addEventListener("close", (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  hello(since = 0, snapshot?: boolean): void {
    this.send({ type: "hello", v: PROTOCOL_VERSION, agent: "test-agent/1", since, ...(snapshot ? { snapshot } : {}) });
  }

  /** Wait until `predicate` holds over the frames received so far. */
  async until(predicate: (frames: EdgeFrame[]) => boolean, what: string, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.frames)) {
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames).slice(0, 2000)}`);
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** All peer entries received (replay and live), in order. */
  entries(): Array<{ seq: number; public_key: string; op: string }> {
    return this.frames.flatMap((f) => (f.type === "peers" ? f.entries : []));
  }

  snapshotKeys(): string[] {
    return this.frames.flatMap((f) => (f.type === "snapshot" ? f.keys : []));
  }

  async waitForKey(key: string, op = "add"): Promise<void> {
    await this.until(
      (fs) => fs.some((f) => f.type === "peers" && f.entries.some((e) => e.public_key === key && e.op === op)),
      `${op} ${key}`,
    );
  }

  async welcomed(): Promise<Extract<EdgeFrame, { type: "welcome" }>> {
    await this.until((fs) => fs.some((f) => f.type === "welcome"), "welcome");
    return this.frames.find((f) => f.type === "welcome") as Extract<EdgeFrame, { type: "welcome" }>;
  }

  close(): void {
    try {
      this.ws.close(1000, "test done");
    } catch {
      // already closed
    }
  }
}

export async function openSocket(gateway: string, domain: string, token?: string): Promise<Response> {
  return fetchEdge(`/api/v1/gateways/${gateway}/domains/${domain}/socket`, {
    headers: {
      Upgrade: "websocket",
      Authorization: `Bearer ${token ?? GATEWAY_TOKENS[gateway as keyof typeof GATEWAY_TOKENS] ?? "none"}`,
    },
  });
}

export async function connectGateway(gateway: string, domain: string): Promise<GatewayClient> {
  const res = await openSocket(gateway, domain);
  if (res.status !== 101 || !res.webSocket) throw new Error(`gateway ${gateway} could not connect: ${res.status}`);
  res.webSocket.accept();
  return new GatewayClient(res.webSocket, gateway, domain);
}

/** A gateway that is online for v2: connected, caught up, interface and load reported. */
export async function onlineGateway(
  gateway: string,
  domain: string,
  opts: { connected?: number; load?: number; interface?: boolean; port?: number; address?: string } = {},
): Promise<GatewayClient> {
  const client = await connectGateway(gateway, domain);
  client.hello(0);
  await client.welcomed();
  if (opts.interface !== false) {
    client.send({
      type: "interface",
      public_key: GATEWAY_KEYS[gateway] ?? freshKey(),
      port: opts.port ?? 40011,
      address: opts.address ?? `${gateway}.ext.ffmuc.net`,
      link_address: "fe80::23b:d2ff:fe95:967f",
    });
  }
  client.send({ type: "load", connected: opts.connected ?? 0, load: opts.load ?? opts.connected ?? 0, peers: 0 });
  // A round trip through the object so the reports are applied before the test goes on.
  await receiptOf(domain, freshKey());
  return client;
}

export const GATEWAY_KEYS: Record<string, string> = {
  gw01: "PcKkakZcTEx3LKh+G06Opb8/esg08aWK33A5/Ff1YXE=",
  gw02: "o52Ge+Rpj4CUSitVag9mS7pSXUesNM0ESnvj/wwehkg=",
  gw03: "2OoCUHOPPvEJhWUuq3rD+R9M8Z9z18AN3pzm2aLBT90=",
};

/** A key's public receipt, asked from a fresh client address (receipts are limited per address). */
export function receiptOf(domain: string, key: string, ip = freshIp()): Promise<Response> {
  return fetchEdge(`/api/v1/wg/key/status?domain=${domain}&public_key=${encodeURIComponent(key)}`, {
    headers: { "CF-Connecting-IP": ip },
  });
}

/** The operators' receipt (admin API): reasons and last_live_at too. */
export function operatorReceiptOf(domain: string, key: string): Promise<Response> {
  return adminFetch(`/api/v1/admin/keys/${encodeURIComponent(key)}?domain=${domain}`);
}

/**
 * Make the domain's next writes of registrations fail inside SQLite, as a full disk would:
 * the object's own code path sees a real SQLite error. Returns the undo.
 */
export async function failRegistrationWrites(domain: string): Promise<() => Promise<void>> {
  const stub = env.DOMAIN_REGISTRY.getByName(domain);
  await runInDurableObject(stub, (_obj, state) => {
    state.storage.sql.exec(
      "CREATE TRIGGER test_disk_full BEFORE INSERT ON registrations BEGIN SELECT RAISE(ABORT, 'SQLITE_FULL: database or disk is full'); END",
    );
  });
  return async () => {
    await runInDurableObject(stub, (_obj, state) => {
      state.storage.sql.exec("DROP TRIGGER test_disk_full");
    });
  };
}
