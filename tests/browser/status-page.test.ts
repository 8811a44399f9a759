import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalEdge, REPO_ROOT } from "../../edge/local/serve.ts";
import { randomKey, registerKey, startEdge, TEST_TOKENS } from "../support/edge.ts";
import { RawGateway } from "../support/gateway-socket.ts";
import { executable, missingPrerequisite } from "../support/require-tool.ts";

const CHROMIUM = "/usr/bin/chromium";
const skip = missingPrerequisite([[executable(CHROMIUM), `${CHROMIUM} (apt-get install chromium)`]]);
export const SCREENSHOT = path.join(REPO_ROOT, ".reports", "status-page.png");

describe.skipIf(skip !== undefined)("status page in a real browser", () => {
  let edge: LocalEdge;
  let gw: RawGateway;

  beforeAll(async () => {
    edge = await startEdge();
    gw = await RawGateway.connect(edge.url, "gw01", "ffmuc_welt", TEST_TOKENS.gw01);
    gw.hello(0);
    await gw.until(() => gw.frames.some((f) => f.type === "snapshot" && f.done), "snapshot");
    gw.send({ type: "load", connected: 42, load: 57, peers: 44 });
    for (let i = 0; i < 5; i++) await registerKey(edge.url, "ffmuc_welt", randomKey());
    await fetch(new URL("/api/v1/wg/key/exchange", edge.url), { method: "POST", body: "not json" });
  });

  afterAll(async () => {
    await gw?.close();
    await edge?.stop();
  });

  it("shows every domain, gateway health and counts, without JavaScript, and refreshes itself", async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    try {
      const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1100, height: 900 } });
      const page = await context.newPage();
      const response = await page.goto(new URL("/status", edge.url).href);
      expect(response?.status()).toBe(200);
      await expect(page.title()).resolves.toBe("wgkex-edge status");
      expect(await page.locator('meta[http-equiv="refresh"]').getAttribute("content")).toBe("30");

      const welt = page.locator("#domain-ffmuc_welt");
      await expect(welt.locator("h2").innerText()).resolves.toBe("ffmuc_welt");
      expect(await welt.locator(".summary").innerText()).toMatch(/5 peers · 5 registrations in the last hour/);
      const gw01 = welt.locator("tbody tr", { hasText: "gw01" });
      expect(await gw01.locator(".badge").innerText()).toBe("online");
      const cells = await gw01.locator("td").allInnerTexts();
      expect(cells.slice(0, 7)).toEqual(["gw01", "online", "1", "muc", "42", "44", "5"]);
      expect(cells[7]).toBe("0"); // adopted (migration from wgkex)
      expect(await welt.locator("tbody tr", { hasText: "gw02" }).locator(".badge").innerText()).toBe("offline");
      await expect(page.locator("#domain-ffmuc_muc_cty").count()).resolves.toBe(1);
      expect(await page.locator("#edge-rejections").innerText()).toMatch(/invalid: 1/);

      mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
