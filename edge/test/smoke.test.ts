import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";

it("answers v1", async () => {
  const res = await exports.default.fetch("http://edge/api/v1/wg/key/exchange", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", "CF-Connecting-IP": "192.0.2.1" },
    body: '{"domain": "ffmuc_welt","public_key": "4oiBpLXEpsDCIkQ8A0kY+jaQ3CvQKSLC3LnXfhy8bWs="}',
  });
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('{"Message":"OK"}');
});
