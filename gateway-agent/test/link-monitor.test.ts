import { describe, expect, it } from "vitest";
import type { Clock } from "../src/clock.ts";
import { RecordingRunner } from "../src/commands/recording-runner.ts";
import { Debounce, LinkMonitor, linkEventName } from "../src/link-monitor.ts";
import { memoryLogger } from "../src/log.ts";

/** A clock whose timers fire only when the test advances it. */
function manualClock() {
  let now = 0;
  let id = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      timers.set(++id, { at: now + ms, fn });
      return id;
    },
    clearTimeout: (h) => timers.delete(h as number),
    setInterval: () => 0,
    clearInterval: () => {},
  };
  const advance = (ms: number) => {
    const until = now + ms;
    for (;;) {
      const next = [...timers].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      timers.delete(next[0]);
      now = next[1].at;
      next[1].fn();
    }
    now = until;
  };
  return { clock, advance, pending: () => timers.size };
}

describe("link events", () => {
  it("names the interface of each line `ip -o monitor link` prints (lines recorded from iproute2)", () => {
    const lines: Array<[string, string | undefined]> = [
      [
        "4: wg-test: <POINTOPOINT,MULTICAST,NOARP> mtu 1420 qdisc noop state DOWN group default \\    link/none ",
        "wg-test",
      ],
      [
        "Deleted 4: wg-test: <POINTOPOINT,MULTICAST,NOARP> mtu 1420 qdisc noop state DOWN group default \\    link/none ",
        "wg-test",
      ],
      [
        "5: vx-t: <BROADCAST,MULTICAST> mtu 1430 qdisc noop state DOWN group default \\    link/ether 66:b9:b9:cc:bf:71 brd ff:ff:ff:ff:ff:ff",
        "vx-t",
      ],
      ["3: v0@v1: <NO-CARRIER,BROADCAST,MULTICAST,UP,M-DOWN> mtu 1500 qdisc noqueue state LOWERLAYERDOWN", "v0"],
      ["Deleted 3: v0@NONE: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN", "v0"],
      ["[LINK]12: bat-welt: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500", "bat-welt"],
      ["", undefined],
      ["Timestamp: Thu Nov 26 2026", undefined],
    ];
    for (const [line, name] of lines) expect(linkEventName(line), line).toBe(name);
  });

  it("debounce: one run per burst, after it was quiet; a burst that never ends still runs after the maximum", () => {
    const { clock, advance } = manualClock();
    let runs = 0;
    const d = new Debounce(clock, 100, 500, () => runs++);
    d.trigger();
    advance(50);
    d.trigger();
    advance(99);
    expect(runs).toBe(0);
    advance(1);
    expect(runs).toBe(1);
    for (let i = 0; i < 20; i++) {
      d.trigger();
      advance(60);
    }
    expect(runs).toBe(3); // at 500 ms and 1000 ms into the flapping
    d.cancel();
    advance(1000);
    expect(runs).toBe(3);
  });

  it("the monitor runs `ip -o monitor link`, reports names, and is started again with backoff when it exits", () => {
    const { clock, advance } = manualClock();
    const runner = new RecordingRunner();
    const logger = memoryLogger();
    const seen: string[] = [];
    let restarts = 0;
    const monitor = new LinkMonitor({
      runner,
      clock,
      logger,
      backoff: { baseMs: 1000, maxMs: 8000 },
      onLink: (name) => seen.push(name),
      onRestart: () => restarts++,
    });
    expect(monitor.start()).toBe(true);
    runner.emit("Deleted 9: wg-welt: <POINTOPOINT,NOARP> mtu 1420");
    runner.emit("garbage");
    expect(seen).toEqual(["wg-welt"]);
    return (async () => {
      runner.endWatches(1);
      await Promise.resolve();
      await Promise.resolve();
      expect(logger.records.find((r) => r.msg === "link monitor exited; starting it again")).toMatchObject({
        code: 1,
        delay_ms: 1000,
      });
      advance(999);
      expect(runner.watching).toBe(0);
      advance(1);
      expect(runner.watching).toBe(1);
      expect(restarts).toBe(1);
      runner.endWatches(1);
      await Promise.resolve();
      await Promise.resolve();
      expect(logger.records.filter((r) => r.msg === "link monitor exited; starting it again").at(-1)).toMatchObject({
        delay_ms: 2000,
      });
      monitor.stop();
      advance(10_000);
      expect(runner.watching).toBe(0);
      expect(runner.calls.filter((c) => c.watch).map((c) => c.argv)).toEqual([
        ["ip", "-o", "monitor", "link"],
        ["ip", "-o", "monitor", "link"],
      ]);
    })();
  });

  it("a runner that cannot watch: no monitor, a warning, the periodic reconcile only", () => {
    const { clock } = manualClock();
    const logger = memoryLogger();
    const runner = new RecordingRunner();
    const blind = { run: runner.run.bind(runner), startDaemon: runner.startDaemon.bind(runner), spawns: 0 };
    const monitor = new LinkMonitor({
      runner: blind,
      clock,
      logger,
      backoff: { baseMs: 1, maxMs: 1 },
      onLink: () => {},
      onRestart: () => {},
    });
    expect(monitor.start()).toBe(false);
    expect(logger.records.map((r) => r.msg)).toEqual([
      "no link events with this command runner: interfaces are checked by the periodic reconcile only",
    ]);
  });
});
