/**
 * `npm run parker-key -- <command>`: the Parker signing key, offline.
 *
 *   generate [--dir D]                       new signify key pair: D/parker.sec (0600) and D/parker.pub
 *   convert --seed-file F --public-key K [--dir D]
 *                                            a raw Ed25519 seed (wgkex's broker_signing_key) as a signify
 *                                            secret key, with the key number of the public key routers pin
 *   check --secret-file F [--config wrangler.toml] [--env production] [--public-key K] [--not-after ISO]
 *                                            the edge's start-up check: refuses what the edge would refuse,
 *                                            then signs a test answer and verifies it as a router does
 *
 * Secrets are read from files and written with mode 0600; they are never printed.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  createParkerSigner,
  encodeSignifySecretKey,
  generateSignifyKeyPair,
  parseSignifyPublicKey,
  parseSigningSecret,
  publicKeyOfSecret,
  SigningKeyError,
  usignVerify,
} from "@wgkex-edge/shared/parker";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    dir: { type: "string", default: "." },
    "seed-file": { type: "string" },
    "secret-file": { type: "string" },
    "public-key": { type: "string" },
    "not-after": { type: "string" },
    config: { type: "string" },
    env: { type: "string" },
  },
});

function fail(message: string): never {
  process.stderr.write(`parker-key: ${message}\n`);
  process.exit(1);
}

function writeKeyPair(dir: string, secretKey: string, publicKey: string): void {
  const sec = path.join(dir, "parker.sec");
  const pub = path.join(dir, "parker.pub");
  // Never overwrite a key: the routers in the field may pin the one that is there.
  for (const file of [sec, pub]) {
    if (existsSync(file)) fail(`${file} exists; refusing to overwrite a key (choose another --dir)`);
  }
  try {
    writeFileSync(sec, `untrusted comment: wgkex-edge parker secret key\n${secretKey}\n`, { mode: 0o600, flag: "wx" });
    chmodSync(sec, 0o600);
    writeFileSync(pub, `untrusted comment: wgkex-edge parker public key\n${publicKey}\n`, { flag: "wx" });
  } catch (error) {
    fail(`cannot write the key pair to ${dir}: ${(error as Error).message}`);
  }
  process.stdout.write(
    `wrote ${sec} (secret, mode 0600) and ${pub}\n\n` +
      `site.conf:      parker = { config_pubkey = '${publicKey}', ... }\n` +
      `wrangler.toml:  [vars.WGKEX_CONFIG.parker] public_key = "${publicKey}"\n` +
      `secret:         npx wrangler secret put PARKER_SIGNING_KEY --env production < ${sec}\n`,
  );
}

const readSecret = (file: string | undefined, what: string): string => {
  if (!file) fail(`give ${what}`);
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    fail(`cannot read ${file}: ${(error as Error).message}`);
  }
};

/** parker.public_key and key_not_after from a wrangler.toml, read with wrangler's parser. */
async function fromWranglerToml(configPath: string, env: string | undefined) {
  const { wranglerDefaults } = await import("../edge/local/serve.ts");
  const config = (await wranglerDefaults(path.resolve(configPath), env)).config as {
    parker?: { public_key?: string; key_not_after?: string };
  };
  if (!config?.parker?.public_key)
    fail(`${configPath}: WGKEX_CONFIG has no parker.public_key${env ? ` in env ${env}` : ""}`);
  return { publicKey: config.parker.public_key, notAfter: config.parker.key_not_after };
}

try {
  switch (positionals[0]) {
    case "generate": {
      const pair = await generateSignifyKeyPair();
      writeKeyPair(values.dir, pair.secretKey, pair.publicKey);
      break;
    }
    case "convert": {
      const seedText = readSecret(values["seed-file"], "--seed-file");
      const secret = parseSigningSecret(seedText);
      if (secret.kind !== "seed") fail("--seed-file holds a signify secret key already; nothing to convert");
      if (!values["public-key"]) fail("give --public-key: the config_pubkey routers pin (its key number is kept)");
      const { keynum } = parseSignifyPublicKey(values["public-key"]);
      const publicKey = await publicKeyOfSecret(seedText, keynum);
      if (publicKey !== values["public-key"]) {
        fail("the seed does not belong to --public-key: routers pinning that key would reject every answer");
      }
      writeKeyPair(
        values.dir,
        encodeSignifySecretKey(keynum, secret.seed, parseSignifyPublicKey(publicKey).publicKey),
        publicKey,
      );
      break;
    }
    case "check": {
      const secretText = readSecret(values["secret-file"], "--secret-file");
      const pinned = values.config
        ? await fromWranglerToml(values.config, values.env)
        : { publicKey: values["public-key"], notAfter: values["not-after"] };
      if (!pinned.publicKey) fail("give --config wrangler.toml (and --env) or --public-key");
      const notAfter = pinned.notAfter === undefined ? undefined : Date.parse(pinned.notAfter);
      if (notAfter !== undefined && Number.isNaN(notAfter)) fail(`not-after ${pinned.notAfter} is not a date`);
      const signer = await createParkerSigner(secretText, { publicKey: pinned.publicKey, notAfter });
      const message = '{"nonce":"parker-key check","time":0,"retry":20}\n';
      const verdict = await usignVerify(
        new TextEncoder().encode(message),
        `\n${await signer.sign(message)}`,
        `untrusted comment: x\n${signer.publicKey}\n`,
      );
      if (!verdict.ok) fail(`a test answer did not verify: ${verdict.reason}`);
      process.stdout.write(
        `OK: the key belongs to ${signer.publicKey}; a test answer verifies as a router verifies it\n`,
      );
      break;
    }
    default:
      fail(
        "usage: parker-key generate [--dir D] | convert --seed-file F --public-key K [--dir D] | check --secret-file F [--config wrangler.toml [--env E] | --public-key K [--not-after ISO]]",
      );
  }
} catch (error) {
  if (error instanceof SigningKeyError) fail(error.message);
  throw error;
}
