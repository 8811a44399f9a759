import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createParkerSigner, signedBody } from "@wgkex-edge/shared/parker";
import vectors from "@wgkex-edge/shared/testing/parker-vectors.json" with { type: "json" };
import { afterAll, describe, expect, it } from "vitest";
import { executable, missingPrerequisite } from "../support/require-tool.ts";

/**
 * Parker's keys and signatures against OpenBSD's signify (Debian signify-openbsd), an
 * implementation that shares no code with ours and is stricter than the routers' usign:
 * it also insists on the "untrusted comment:" line and on equal key numbers.
 */
const SIGNIFY = "/usr/bin/signify-openbsd";
const skip = missingPrerequisite([[executable(SIGNIFY), `${SIGNIFY} (apt install signify-openbsd)`]]);
const dir = mkdtempSync(path.join(tmpdir(), `parker-signify-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
};

/** signify -V on a router-style answer: message = everything up to the signature line. */
function signifyVerifies(body: string, publicKey: string): boolean {
  const cut = body.lastIndexOf("\n") + 1;
  const msg = file("answer.json", body.slice(0, cut));
  const sig = file("answer.json.sig", `untrusted comment: verify with parker.pub\n${body.slice(cut)}\n`);
  const pub = file("parker.pub", `untrusted comment: parker public key\n${publicKey}\n`);
  return spawnSync(SIGNIFY, ["-V", "-q", "-p", pub, "-x", sig, "-m", msg]).status === 0;
}

describe.skipIf(skip !== undefined)("Parker signatures against signify-openbsd", () => {
  it("verifies the facts' wgkex answer and our signature of it", async () => {
    const { json, signature } = vectors.wgkex_answer;
    expect(signifyVerifies(`${json}\n${signature}`, vectors.key.signify_public_key)).toBe(true);
    const signer = await createParkerSigner(vectors.key.signify_secret_key, {
      publicKey: vectors.key.signify_public_key,
    });
    const ours = await signedBody(json, signer);
    expect(ours).toBe(`${json}\n${signature}`);
    expect(signifyVerifies(ours.replace('"retry": 120', '"retry": 121'), vectors.key.signify_public_key)).toBe(false);
  });

  it("signs with a key signify generated, with the same bytes signify signs", async () => {
    const sec = path.join(dir, "gen.sec");
    const pub = path.join(dir, "gen.pub");
    execFileSync(SIGNIFY, ["-G", "-n", "-c", "test", "-p", pub, "-s", sec]);
    const publicKey = readFileSync(pub, "utf8").split("\n")[1]!;
    const signer = await createParkerSigner(readFileSync(sec, "utf8"), { publicKey });
    const message = file("m", '{"nonce":"abc","time":1,"retry":20}\n');
    execFileSync(SIGNIFY, ["-S", "-s", sec, "-m", message, "-x", `${message}.sig`]);
    const theirs = readFileSync(`${message}.sig`, "utf8").split("\n")[1];
    expect(await signer.sign(readFileSync(message, "utf8"))).toBe(theirs);
  });

  it("verifies keys made by `npm run parker-key -- generate`", async () => {
    const out = path.join(dir, "generated");
    execFileSync("mkdir", ["-p", out]);
    execFileSync(process.execPath, [
      path.resolve(import.meta.dirname, "../../scripts/parker-key.ts"),
      "generate",
      "--dir",
      out,
    ]);
    const publicKey = readFileSync(path.join(out, "parker.pub"), "utf8").split("\n")[1]!;
    const signer = await createParkerSigner(readFileSync(path.join(out, "parker.sec"), "utf8"), { publicKey });
    expect(signifyVerifies(await signedBody('{"retry":20}', signer), publicKey)).toBe(true);
    // signify itself can sign with the generated secret key file.
    const m = file("m2", "x\n");
    execFileSync(SIGNIFY, ["-S", "-s", path.join(out, "parker.sec"), "-m", m, "-x", `${m}.sig`]);
    execFileSync(SIGNIFY, ["-V", "-q", "-p", path.join(out, "parker.pub"), "-x", `${m}.sig`, "-m", m]);
  });
});
