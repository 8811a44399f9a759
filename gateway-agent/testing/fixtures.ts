import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../src/config/load.ts";
import type { AgentConfig } from "../src/config/schema.ts";

export function keyPair(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  const d = privateKey.export({ format: "jwk" }).d!;
  const x = publicKey.export({ format: "jwk" }).x!;
  return {
    privateKey: Buffer.from(d, "base64url").toString("base64"),
    publicKey: Buffer.from(x, "base64url").toString("base64"),
  };
}

/** `n` distinct, valid public keys (fast: random 32 bytes with the low bits of the last digit cleared). */
export function publicKeys(n: number, seed = 1): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const b = Buffer.alloc(32);
    b.writeUInt32BE(seed, 0);
    b.writeUInt32BE(i, 4);
    b.writeUInt32BE((i * 2654435761) >>> 0, 8);
    out.push(b.toString("base64"));
  }
  return out;
}

export function tempDir(prefix = "wgxa-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestSetup {
  dir: string;
  config: AgentConfig;
  gatewayKey: { privateKey: string; publicKey: string };
  staticKey: string;
  yaml: string;
}

/** A config with one domain (ffmuc_welt → wg-welt), files in a temp dir. */
export function testSetup(
  overrides: { extra?: string; domainExtra?: string; edgeUrl?: string; dir?: string } = {},
): TestSetup {
  const dir = overrides.dir ?? tempDir();
  const gatewayKey = keyPair();
  const staticKey = keyPair().publicKey;
  writeFileSync(join(dir, "wg-welt.key"), `${gatewayKey.privateKey}\n`, { mode: 0o600 });
  writeFileSync(join(dir, "token"), "secret-token\n", { mode: 0o600 });
  const yaml = `gateway: gw01
edge: { url: "${overrides.edgeUrl ?? "https://broker.example.net"}", token_file: ${dir}/token, backoff_min_ms: 20, backoff_max_ms: 200 }
external_address: gw01.ext.example.net
domain_prefixes: [ffmuc_]
state_dir: ${dir}/state
metrics: { listen: null }
${overrides.extra ?? ""}
domains:
  ffmuc_welt:
    listen_port: 40011
    private_key_file: ${dir}/wg-welt.key
    vni: 4831583
    batman: { enabled: false }
    static_peers:
      - { name: gw02, public_key: "${staticKey}", endpoint: "192.0.2.2:40011" }
${overrides.domainExtra ?? ""}`;
  return { dir, config: parseConfig(yaml), gatewayKey, staticKey, yaml };
}
