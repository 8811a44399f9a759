import { describe, expect, it } from "vitest";
import { connectGateway, fetchEdge, GATEWAY_TOKENS, openSocket } from "./helpers.ts";

const DOMAIN = "ffmuc_welt";

describe("gateway socket authentication", () => {
  it("refuses a missing, wrong or other gateway's token with a bare 401", async () => {
    for (const token of ["", "wrong", GATEWAY_TOKENS.gw02, `${GATEWAY_TOKENS.gw01}x`]) {
      const res = await openSocket("gw01", DOMAIN, token);
      expect(res.status).toBe(401);
      expect(await res.text()).toBe("");
    }
  });

  it("refuses unknown gateways and domains, and domains the gateway does not serve", async () => {
    expect((await openSocket("gw09", DOMAIN, "x")).status).toBe(401);
    expect((await openSocket("gw01", "ffmuc_nowhere")).status).toBe(401);
    expect((await openSocket("gw03", "ffmuc_muc_cty")).status).toBe(401);
  });

  it("asks for an upgrade when the token is right but it is no WebSocket", async () => {
    const res = await fetchEdge(`/api/v1/gateways/gw01/domains/${DOMAIN}/socket`, {
      headers: { Authorization: `Bearer ${GATEWAY_TOKENS.gw01}` },
    });
    expect(res.status).toBe(426);
  });

  it("closes the socket on a bad frame with a reason naming the field", async () => {
    const gw = await connectGateway("gw01", DOMAIN);
    gw.send({ type: "hello", v: 1, agent: "x", since: -4 });
    await gw.until(() => gw.closed !== undefined, "close");
    const error = gw.frames.find((f) => f.type === "error");
    expect(error).toMatchObject({ type: "error", code: "bad_frame" });
    expect(error && "message" in error ? error.message : "").toMatch(/since/);
    expect(gw.closed?.code).toBe(1008);
  });
});
