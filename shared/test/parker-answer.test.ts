import { sha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import {
  addressesFor,
  createParkerSigner,
  encodeNodeConfig,
  encodeRetry,
  fromBase64,
  type NodeConfigAnswer,
  type ParkerLayout,
  prefixOf,
  signedBody,
  toBase64,
  toHex,
  usignVerify,
} from "../src/parker/index.ts";
import { splitResponse } from "../testing/parker-node.ts";
import vectors from "../testing/parker-vectors.json" with { type: "json" };

const prefix = prefixOf;

const { wgkex_answer: vector, key } = vectors;
const xlatLayout: ParkerLayout = {
  ipv6: { pool: prefix(vector.layout.ipv6_pool), length: vector.layout.ipv6_length },
  ipv4: { shared: prefix(vector.layout.ipv4_shared) },
  xlat: true,
  firstIndex: vector.layout.first_index,
};

/** The §3.1 example rebuilt from its parts: layout index 1 and one concentrator. */
function exampleAnswer(): NodeConfigAnswer {
  const { routes: _, ...addresses } = addressesFor(xlatLayout, vector.layout.index);
  return {
    nonce: "0123456789abcdef0123456789abcdef",
    time: 1767225600,
    id: "TszFS3oFRdhsJP3K0VOlklGMGYZy+oFCtlaghXJqW2g=",
    mtu: 1375,
    concentrators: [
      { address4: "10.0.0.1", address6: "fe80::1", endpoint: "[2001:db8::1]:51820", pubkey: key.raw_public_key, id: 1 },
    ],
    ...addresses,
    wg_keepalive: 25,
    retry: 120,
  };
}

const signer = () => createParkerSigner(key.signify_secret_key, { publicKey: key.signify_public_key });
const pubkeyFile = `untrusted comment: signify public key\n${key.signify_public_key}\n`;
const encoder = new TextEncoder();

describe("the answer bytes (parker-facts §3.1, §5)", () => {
  it("reproduces wgkex's example answer byte for byte, and its signature", async () => {
    const json = encodeNodeConfig(exampleAnswer(), "wgkex");
    expect(json).toBe(vector.json);
    const message = encoder.encode(`${json}\n`);
    expect(message.length).toBe(vector.body_with_newline_bytes);
    expect(toHex(sha256(message))).toBe(vector.body_with_newline_sha256);
    const body = await signedBody(json, await signer());
    expect(body).toBe(`${vector.json}\n${vector.signature}`);
    expect(toBase64(fromBase64(vector.signature)!.slice(10))).toBe(vector.raw_signature);
  });

  it("writes etcd-tools' compact field order for the ffbs format, with a numeric id", () => {
    const json = encodeNodeConfig({ ...exampleAnswer(), id: 30, xlat_range6: undefined }, "ffbs");
    expect(json).toBe(
      '{"id":30,"concentrators":[{"address4":"10.0.0.1","address6":"fe80::1","endpoint":"[2001:db8::1]:51820","pubkey":"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=","id":1}],"mtu":1375,"retry":120,"wg_keepalive":25,"range4":"10.80.96.0/22","range6":"2001:db8:ed0:2::/64","address4":"10.80.96.1","address6":"2001:db8:ed0:2::1","nonce":"0123456789abcdef0123456789abcdef","time":1767225600}',
    );
    expect(JSON.parse(json)).toMatchObject({ id: 30, mtu: 1375, retry: 120, wg_keepalive: 25 });
  });

  it("writes the id-less 'come back later' answer in both formats", () => {
    const retry = { nonce: "n0", time: 1767225600, retry: 3600 };
    expect(encodeRetry(retry, "wgkex")).toBe('{"nonce": "n0", "time": 1767225600, "retry": 3600}');
    expect(encodeRetry(retry, "ffbs")).toBe('{"retry":3600,"nonce":"n0","time":1767225600}');
  });

  it("echoes any printable nonce verbatim, escaped as each reference server escapes it", () => {
    const nonce = `a"b\\c<d>&e~ `;
    const wgkex = encodeRetry({ nonce, time: 1, retry: 2 }, "wgkex");
    const ffbs = encodeRetry({ nonce, time: 1, retry: 2 }, "ffbs");
    expect(wgkex).toBe('{"nonce": "a\\"b\\\\c<d>&e~ ", "time": 1, "retry": 2}');
    expect(ffbs).toBe('{"retry":2,"nonce":"a\\"b\\\\c\\u003cd\\u003e\\u0026e~ ","time":1}');
    expect(JSON.parse(wgkex).nonce).toBe(nonce);
    expect(JSON.parse(ffbs).nonce).toBe(nonce);
  });

  it("refuses non-integer numbers instead of writing what Lua would misread", () => {
    expect(() => encodeNodeConfig({ ...exampleAnswer(), mtu: 1375.5 }, "wgkex")).toThrow(/integers/);
  });
});

describe("usign as the router runs it, on the router's own file split (parker-facts §1.2, §5)", () => {
  const body = `${vector.json}\n${vector.signature}`;
  const verify = (response: string) => {
    const { message, signatureLine } = splitResponse(response);
    return usignVerify(encoder.encode(message), `\n${signatureLine}`, pubkeyFile);
  };

  it("accepts the signify signature", async () => {
    expect(await verify(body)).toEqual({ ok: true });
  });

  it("refuses a raw 64-byte signature with 'Failed to decode signature'", async () => {
    expect(await verify(`${vector.json}\n${vector.raw_signature}`)).toEqual({
      ok: false,
      reason: "Failed to decode signature",
    });
  });

  it("tolerates a newline after the signature, not an extra blank line", async () => {
    expect(await verify(`${body}\n`)).toEqual({ ok: true });
    expect((await verify(`${body}\n\n`)).ok).toBe(false);
  });

  it("does not compare key numbers (keynum ABCDEFGH still verifies)", async () => {
    const sig = fromBase64(vector.signature)!;
    sig.set(encoder.encode("ABCDEFGH"), 2);
    expect(await verify(`${vector.json}\n${toBase64(sig)}`)).toEqual({ ok: true });
  });

  it("fails a signature over the JSON without its newline", async () => {
    const s = await signer();
    const withoutNewline = await s.sign(vector.json);
    expect(await verify(`${vector.json}\n${withoutNewline}`)).toEqual({ ok: false, reason: "verification failed" });
  });

  it("fails a changed answer and a different key", async () => {
    expect((await verify(body.replace('"retry": 120', '"retry": 121'))).ok).toBe(false);
    const other = `untrusted comment: x\n${vectors.ffbs_production_public_key}\n`;
    const { message, signatureLine } = splitResponse(body);
    expect((await usignVerify(encoder.encode(message), `\n${signatureLine}`, other)).ok).toBe(false);
  });

  it("splits like head -n -1 / tail -n 1", () => {
    expect(splitResponse("a\nb")).toEqual({ message: "a\n", signatureLine: "b" });
    expect(splitResponse("a\nb\n")).toEqual({ message: "a\n", signatureLine: "b\n" });
    expect(splitResponse("a\nb\n\n")).toEqual({ message: "a\nb\n", signatureLine: "\n" });
    expect(splitResponse("")).toEqual({ message: "", signatureLine: "" });
  });
});
