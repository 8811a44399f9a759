import { describe, expect, it } from "vitest";
import { answer, requestBody, WGKEX_ANSWERS, type WgkexAnswer } from "./fixtures/wgkex/answers.ts";
import { failRegistrationWrites, fetchEdge, freshIp, freshKey, onlineGateway } from "./helpers.ts";

// Every answer wgkex gave in the recording (edge/test/fixtures/wgkex/README.md), asked of the
// edge with the same request: status, Content-Type, Allow and the body's exact bytes.
async function ask(a: WgkexAnswer): Promise<Response> {
  const body = requestBody(a, freshKey()); // a fresh key: per-key limits must not interfere
  return fetchEdge(a.request.path, {
    method: a.request.method,
    headers: { ...a.request.headers, "CF-Connecting-IP": freshIp() },
    ...(body === undefined ? {} : { body }),
  });
}

async function expectSameAnswer(a: WgkexAnswer, res: Response): Promise<void> {
  const bytes = new Uint8Array(await res.arrayBuffer());
  expect(res.status, a.name).toBe(a.response.status);
  expect(res.headers.get("Content-Type"), a.name).toBe(a.response.content_type);
  expect(res.headers.get("Location"), a.name).toBeNull();
  if (a.response.allow_seen) expect(a.response.allow_seen, a.name).toContain(res.headers.get("Allow"));
  else expect(res.headers.get("Allow"), a.name).toBeNull();
  expect(new TextDecoder().decode(bytes), a.name).toBe(a.response.body);
  expect(bytes.byteLength, a.name).toBe(a.response.bytes);
}

// Answers that need gateway state or a failure first are tested below, one by one.
const WITH_SETUP = new Set([
  "v1 unexpected server error (MQTT publish raises)",
  "v2 no gateway online",
  "v2 chosen gateway has no data",
  "v2 OK: Endpoint",
]);

describe("the node API answers byte for byte as wgkex (recorded fixtures)", () => {
  it("the recording holds the answers the issue names, with Flask's trailing newline", () => {
    expect(answer("v1 OK: the Gluon client's request").response.body).toBe('{"Message":"OK"}\n');
    expect(answer("v1 OK: the Gluon client's request").response.bytes).toBe(17);
    expect(answer("v1 invalid: not JSON").response.bytes).toBe(80);
    expect(WGKEX_ANSWERS.length).toBeGreaterThanOrEqual(50);
  });

  it.each(WGKEX_ANSWERS.filter((a) => !WITH_SETUP.has(a.name)).map((a) => [a.name, a] as const))(
    "%s",
    async (_name, a) => {
      await expectSameAnswer(a, await ask(a));
    },
  );

  it("v2 no gateway online", async () => {
    const a = answer("v2 no gateway online");
    await expectSameAnswer(a, await ask(a));
  });

  it("v2 chosen gateway has no data", async () => {
    const gw = await onlineGateway("gw02", "ffmuc_gluon", { interface: false });
    const a = answer("v2 chosen gateway has no data");
    await expectSameAnswer(a, await ask(a));
    gw.close();
  });

  it("v2 OK: Endpoint", async () => {
    const gw = await onlineGateway("gw01", "ffmuc_muc_cty", { connected: 10, port: 40012 });
    const a = answer("v2 OK: Endpoint");
    await expectSameAnswer(a, await ask(a));
    gw.close();
  });

  it("an unexpected failure behind v1 (here: storage) gets wgkex's 500 page", async () => {
    const undo = await failRegistrationWrites("ffmuc_welt");
    const a = answer("v1 unexpected server error (MQTT publish raises)");
    const res = await ask(a);
    await undo();
    await expectSameAnswer(a, res);
  });
});
