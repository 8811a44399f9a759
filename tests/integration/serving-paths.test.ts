import { execFileSync, spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { Agent, request } from "node:http";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { LocalEdge, Serving } from "../../edge/local/serve.ts";
import { workerdConfig } from "../../edge/local/workerd-config.ts";
import { serveWorkerd, workerdBinary } from "../../edge/local/workerd-process.ts";
import { randomKey, registerKey, startEdge, TEST_TOKENS, tempDir } from "../support/edge.ts";
import { RawGateway } from "../support/gateway-socket.ts";

// The three ways the local edge can be served (edge/local/serve.ts): behind Miniflare's entry
// worker, on the Worker's own socket in Miniflare, and by bare `workerd serve` with the
// generated configuration, which is what a self-hoster runs. Each must be the same edge.
const DOMAIN = "ffmuc_welt";
let edges: LocalEdge[] = [];
afterEach(async () => {
  await Promise.all(edges.map((e) => e.stop().catch(() => {})));
  edges = [];
});

async function edge(serving: Serving, persistDir?: string): Promise<LocalEdge> {
  const e = await startEdge({ serving, ...(persistDir ? { persistDir } : {}) });
  edges.push(e);
  return e;
}

/** Two Gluon requests on one kept-alive connection: the local ports of both answers. */
function twoOnOneConnection(base: URL, keys: [string, string]): Promise<Array<{ body: string; port: number }>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const one = (key: string) =>
    new Promise<{ body: string; port: number }>((resolve, reject) => {
      const body = `{"domain": "${DOMAIN}","public_key": "${key}"}`;
      const req = request(
        new URL("/api/v1/wg/key/exchange", base),
        { method: "POST", agent, headers: { "Content-Type": "application/x-www-form-urlencoded" } },
        (res) => {
          const port = res.socket.localPort ?? 0; // the socket goes back to the agent at "end"
          let text = "";
          res.on("data", (c) => {
            text += c;
          });
          res.on("end", () => resolve({ body: text, port }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  return (async () => {
    const a = await one(keys[0]);
    const b = await one(keys[1]);
    agent.destroy();
    return [a, b];
  })();
}

describe.each(["miniflare", "direct", "workerd"] as const)("the edge served by %s", (serving) => {
  it("answers the Gluon client byte for byte and delivers the key to a gateway", async () => {
    const e = await edge(serving);
    const gw = await RawGateway.connect(e.url, "gw01", DOMAIN, TEST_TOKENS.gw01);
    gw.hello(0);
    await gw.until(() => gw.frames.some((f) => f.type === "snapshot" && f.done), "snapshot");
    const key = randomKey();
    const res = await registerKey(e.url, DOMAIN, key);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/json");
    expect(await res.text()).toBe('{"Message":"OK"}\n');
    await gw.until(() => gw.entries().some((x) => x.public_key === key), "the key at the gateway");
    await gw.close();
  });

  it("keeps the connection alive between registrations", async () => {
    const e = await edge(serving);
    const [a, b] = (await twoOnOneConnection(e.url, [randomKey(), randomKey()])) as [
      { body: string; port: number },
      { body: string; port: number },
    ];
    expect(a.body).toBe('{"Message":"OK"}\n');
    expect(b.body).toBe('{"Message":"OK"}\n');
    expect(b.port).toBe(a.port);
  });

  it("keeps registrations in its storage directory across a restart", async () => {
    const dir = tempDir(`serving-${serving}`);
    const key = randomKey();
    const first = await edge(serving, dir);
    expect((await registerKey(first.url, DOMAIN, key)).status).toBe(200);
    await first.stop();
    const second = await edge(serving, dir);
    const status = await fetch(
      new URL(`/api/v1/wg/key/status?domain=${DOMAIN}&public_key=${encodeURIComponent(key)}`, second.url),
    );
    expect(status.status).toBe(200);
    expect(((await status.json()) as { public_key: string }).public_key).toBe(key);
  });
});

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });

describe("self-hosting on workerd (docs/deployment.md)", () => {
  it("serve.ts --write-config writes a configuration that `workerd serve` runs as the edge", async () => {
    const dir = tempDir("selfhost");
    const port = await freePort();
    const serve = path.resolve(import.meta.dirname, "../../edge/local/serve.ts");
    const written = spawnSync(
      process.execPath,
      [
        serve,
        "--serving",
        "workerd",
        "--write-config",
        path.join(dir, "etc"),
        "--persist",
        path.join(dir, "state"),
      ].concat(["--port", String(port)]),
      { encoding: "utf8" },
    );
    expect(written.stderr).toBe("");
    expect(written.stdout).toContain(`run: workerd serve ${path.join(dir, "etc", "edge.capnp")}`);
    expect(statSync(path.join(dir, "etc", "edge.capnp")).mode & 0o777).toBe(0o600);
    const workerd = await serveWorkerd(path.join(dir, "etc", "edge.capnp"));
    try {
      expect(workerd.url.port).toBe(String(port));
      const res = await registerKey(workerd.url, DOMAIN, randomKey());
      expect(await res.text()).toBe('{"Message":"OK"}\n');
      expect(statSync(path.join(dir, "state", "wgkex-edge-DomainRegistry")).isDirectory()).toBe(true);
    } finally {
      await workerd.stop();
    }
  });
});

describe("the workerd binary of bare serving", () => {
  // Miniflare 4's older workerd (2026-04-26) let single requests to a Durable Object wait for
  // seconds behind others under load (bench/README.md); the release wrangler ships does not.
  it("is the release wrangler ships", () => {
    const version = (bin: string) => execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
    const fromWrangler = createRequire(createRequire(import.meta.url).resolve("wrangler"));
    const wranglers = fromWrangler("workerd") as { default: string } | string;
    const bin = (b: { default: string } | string) => (typeof b === "string" ? b : b.default);
    expect(version(workerdBinary())).toBe(version(bin(wranglers)));
  });
});

describe("the generated workerd configuration", () => {
  it("quotes binding values and embeds modules relative to the config file", () => {
    const text = workerdConfig(
      {
        modules: [{ name: "index.js", path: "/srv/edge/bundle/index.js" }],
        compatibilityDate: "2026-04-01",
        compatibilityFlags: ["nodejs_compat"],
        bindings: [
          { name: "WGKEX_CONFIG", json: { domains: ['a"b\\c'] } },
          { name: "GATEWAY_TOKENS", text: '{"gw01":"t"}' },
          { name: "DOMAIN_REGISTRY", durableObjectNamespace: "DomainRegistry" },
        ],
        durableObjects: ["DomainRegistry"],
        storageDir: "/var/lib/wgkex-edge",
      },
      { configDir: "/srv/edge/config", address: "0.0.0.0:8787" },
    );
    expect(text).toContain('esModule = embed "../bundle/index.js"');
    expect(text).toContain(String.raw`json = "{\"domains\":[\"a\\\"b\\\\c\"]}"`);
    expect(text).toContain(String.raw`text = "{\"gw01\":\"t\"}"`);
    expect(text).toContain('(className = "DomainRegistry", uniqueKey = "wgkex-edge-DomainRegistry", enableSql = true)');
    expect(text).toContain('disk = (path = "/var/lib/wgkex-edge", writable = true)');
    expect(text).toContain('address = "0.0.0.0:8787"');
  });

  it("refuses objects without a storage directory (workerd's in-memory storage has no SQL)", () => {
    expect(() =>
      workerdConfig(
        {
          modules: [{ name: "w.js", path: path.resolve("w.js") }],
          compatibilityDate: "2026-04-01",
          compatibilityFlags: [],
          durableObjects: ["KeyStore"],
        },
        { configDir: process.cwd(), address: "127.0.0.1:0" },
      ),
    ).toThrow(/need a storageDir/);
  });
});
