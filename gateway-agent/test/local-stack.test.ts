import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { linkLocal } from "@wgkex-edge/shared";
import { afterAll, describe, expect, it } from "vitest";
import { publicKeys } from "../testing/index.ts";

// `npm start` (scripts/local-stack.ts) as a user runs it: a child process, a ready line,
// a registration like a Gluon router's, the agent's dry-run command, then Ctrl-C.
const REPO = resolve(import.meta.dirname, "../..");
const stateDir = mkdtempSync(join(tmpdir(), "wgkex-local-stack-"));
let stack: ChildProcess | undefined;
let stackChildren: number[] = [];
afterAll(async () => {
  // On a failure: stop it the way a user would, so workerd is not orphaned; then insist.
  if (stack && stack.exitCode === null) {
    stack.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 5000));
    if (stack.exitCode === null) stack.kill("SIGKILL");
  }
  for (const pid of stackChildren) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(stateDir, { recursive: true, force: true });
}, 15_000);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const children = (pid: number): number[] => {
  try {
    return execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
      .split("\n")
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
};
async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("npm start (scripts/local-stack.ts)", () => {
  it("serves the edge with a dry-run agent; a router's registration shows up as the agent's commands; SIGINT stops everything", async () => {
    stack = spawn(process.execPath, ["scripts/local-stack.ts", "--port", "0", "--state-dir", stateDir], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    stack.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    stack.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => stack!.once("exit", (code) => r(code)));

    const base = await until(
      "the ready line",
      () => {
        if (stack!.exitCode !== null) throw new Error(`local stack exited early:\n${out}\n${err}`);
        return /^wgkex-edge local stack ready at (http:\/\/\S+)$/m.exec(out)?.[1];
      },
      120_000,
    );
    await until("the full instructions", () => (out.includes("Ctrl-C stops everything") ? true : undefined));
    const pids = children(stack.pid!);
    stackChildren = pids;
    expect(pids.length).toBeGreaterThanOrEqual(2); // the agent and workerd

    // The printed v2 answer is what the edge answers.
    const printedV2 = /v2: .*\n.*\n {2}→ (\{.*\})$/m.exec(out)?.[1];
    expect(printedV2).toBeDefined();
    const [key, key2] = publicKeys(2, 6006);
    const v2 = await fetch(`${base}/api/v2/wg/key/exchange`, {
      method: "POST",
      body: `{"domain": "ffmuc_welt","public_key": "${key2}"}`,
    });
    expect(v2.status).toBe(200);
    expect(await v2.text()).toBe(`${printedV2}\n`); // Flask ends the body with a newline

    // Exactly like a Gluon router: busybox wget --post-data.
    const res = await fetch(`${base}/api/v1/wg/key/exchange`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `{"domain": "ffmuc_welt","public_key": "${key}"}`,
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"Message":"OK"}\n');

    const log = join(stateDir, "local-stack", "agent-commands.log");
    const ll = linkLocal(key!, "wgkex");
    const line = await until("the agent's dry-run command for the key", () =>
      readFileSync(log, "utf8")
        .split("\n")
        .find((l) => l.includes(key!) && l.includes(`${ll}/128`)),
    );
    expect(line).toMatch(/^wg set wg-welt .*peer '?[A-Za-z0-9+/=]+'? allowed-ips /);
    const receipt = await until("the receipt's installed state", async () => {
      const r = await fetch(`${base}/api/v1/wg/key/status?domain=ffmuc_welt&public_key=${encodeURIComponent(key!)}`);
      expect(r.status).toBe(200); // receipts are limited per address (30 a minute): this polls a few times
      const body = (await r.json()) as { gateways: Array<{ name: string; state: string }> };
      return body.gateways.find((g) => g.name === "gw01" && g.state === "installed");
    });
    expect(receipt.state).toBe("installed");
    expect(out).toContain(`${base}/status`);
    expect(out).toMatch(/Authorization: Bearer [A-Za-z0-9_-]{20,}' http:\/\/127\.0\.0\.1:\d+\/metrics/);

    stack.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(out).toContain("stopped.");
    await until("every child process to exit", () => (pids.every((p) => !alive(p)) ? true : undefined), 10_000);
    expect(readFileSync(join(stateDir, "local-stack", "agent.log"), "utf8")).toContain('"msg":"agent stopped"');
    expect(existsSync(join(stateDir, "local-state"))).toBe(true);
  }, 180_000);
});
