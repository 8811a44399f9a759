/**
 * The edge on bare `workerd serve` (no Miniflare): its configuration, and the process.
 * What a self-hoster runs; serve.ts uses it for `serving: "workerd"`.
 *
 * Plain Node (type stripping), no imports of the workspace's TypeScript.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type WorkerdBinding, workerdConfig } from "./workerd-config.ts";
import { serveWorkerd } from "./workerd-process.ts";

export interface EdgeWorkerdOptions {
  /** The bundle's entry module (wrangler deploy --dry-run's index.js). */
  scriptPath: string;
  compatibilityDate: string;
  compatibilityFlags: readonly string[];
  /** WGKEX_CONFIG (JSON) and the secrets (text), as the Worker's bindings. */
  bindings: Record<string, unknown>;
  storageDir: string;
  /** host:port */
  address: string;
  configDir: string;
  v8Flags?: readonly string[];
}

/** The edge's workerd configuration: the Worker, its two object classes, their storage. */
export function edgeWorkerdConfig(o: EdgeWorkerdOptions): string {
  const bindings: WorkerdBinding[] = [
    { name: "WGKEX_CONFIG", json: o.bindings.WGKEX_CONFIG },
    ...Object.entries(o.bindings)
      .filter(([name]) => name !== "WGKEX_CONFIG")
      .map(([name, value]) => ({ name, text: String(value) })),
    { name: "DOMAIN_REGISTRY", durableObjectNamespace: "DomainRegistry" },
    { name: "EDGE_STATS", durableObjectNamespace: "EdgeStats" },
  ];
  return workerdConfig(
    {
      modules: [{ name: "index.js", path: o.scriptPath }],
      compatibilityDate: o.compatibilityDate,
      compatibilityFlags: o.compatibilityFlags,
      bindings,
      durableObjects: ["DomainRegistry", "EdgeStats"],
      storageDir: o.storageDir,
    },
    { configDir: o.configDir, address: o.address, ...(o.v8Flags ? { v8Flags: o.v8Flags } : {}) },
  );
}

export interface BareEdge {
  url: URL;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Start the edge on workerd with a configuration in a temporary directory (it holds the
 * secrets; removed at stop). Without `persistDir` the objects' SQLite goes there too:
 * workerd's in-memory storage has no SQL API.
 */
export async function startBareWorkerd(
  o: Omit<EdgeWorkerdOptions, "storageDir" | "configDir"> & {
    persistDir?: string | undefined;
    verbose?: boolean;
    onLog?: (line: string) => void;
  },
): Promise<BareEdge> {
  const dir = mkdtempSync(path.join(tmpdir(), "wgkex-edge-workerd-"));
  try {
    const storageDir = o.persistDir || path.join(dir, "storage");
    mkdirSync(storageDir, { recursive: true });
    const configPath = path.join(dir, "edge.capnp");
    writeFileSync(configPath, edgeWorkerdConfig({ ...o, storageDir, configDir: dir }), { mode: 0o600 });
    const workerd = await serveWorkerd(configPath, {
      ...(o.verbose ? { verbose: true } : {}),
      ...(o.onLog ? { onLine: o.onLog } : {}),
    });
    return {
      url: workerd.url,
      pid: workerd.pid,
      stop: async () => {
        await workerd.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
