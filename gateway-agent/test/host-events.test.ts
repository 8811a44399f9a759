import { describe, expect, it } from "vitest";
import type { Clock } from "../src/clock.ts";
import { RecordingRunner } from "../src/commands/recording-runner.ts";
import { Debounce, deletedOn, HOST_WATCHES, HostEvents, linkEventName } from "../src/host-events.ts";
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

describe("host events", () => {
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

  it("names the device of a deleted route or FDB entry (recorded from iproute2); additions are no event", () => {
    const lines: Array<[string, string | undefined]> = [
      ["Deleted fe80::5 dev wg-welt metric 1024 linkdown pref medium", "wg-welt"],
      ["Deleted 00:00:00:00:00:00 dev vx-welt dst fe80::5 via wg-welt self permanent", "vx-welt"],
      ["fe80::5 dev wg-welt metric 1024 linkdown pref medium", undefined],
      ["00:00:00:00:00:00 dev vx-welt dst fe80::5 via wg-welt self permanent", undefined],
      ["Deleted local fe80::4449:b7ff:fe33:ab91 dev vx-t table local proto kernel metric 0 pref medium", "vx-t"],
    ];
    for (const [line, name] of lines) expect(deletedOn(line), line).toBe(name);
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

  it("the monitors run as children (links, IPv6 routes, FDB), report interfaces, and each is started again with backoff when it exits", () => {
    const { clock, advance } = manualClock();
    const runner = new RecordingRunner();
    const logger = memoryLogger();
    const seen: string[] = [];
    let restarts = 0;
    const monitor = new HostEvents({
      runner,
      clock,
      logger,
      backoff: { baseMs: 1000, maxMs: 8000 },
      onEvent: (name) => seen.push(name),
      onRestart: () => restarts++,
    });
    expect(monitor.start()).toBe(true);
    expect(runner.calls.filter((c) => c.watch).map((c) => c.argv)).toEqual(HOST_WATCHES.map((w) => [...w.argv]));
    expect(HOST_WATCHES.map((w) => w.argv.join(" "))).toEqual([
      "ip -o monitor link",
      "ip -6 -o monitor route",
      "bridge monitor fdb",
    ]);
    runner.emit("Deleted 9: wg-welt: <POINTOPOINT,NOARP> mtu 1420");
    runner.emit("garbage");
    // Every monitor hears every line here: the link line names wg-welt, the others ignore it.
    expect(seen).toEqual(["wg-welt"]);
    return (async () => {
      runner.endWatches(1);
      await Promise.resolve();
      await Promise.resolve();
      const exits = () => logger.records.filter((r) => r.msg === "host monitor exited; starting it again");
      expect(exits()).toHaveLength(3);
      expect(exits()[0]).toMatchObject({ command: "ip -o monitor link", code: 1, delay_ms: 1000 });
      advance(999);
      expect(runner.watching).toBe(0);
      advance(1);
      expect(runner.watching).toBe(3);
      expect(restarts).toBe(3);
      runner.endWatches(1);
      await Promise.resolve();
      await Promise.resolve();
      expect(exits().at(-1)).toMatchObject({ delay_ms: 2000 });
      monitor.stop();
      advance(10_000);
      expect(runner.watching).toBe(0);
      expect(runner.calls.filter((c) => c.watch)).toHaveLength(6);
    })();
  });

  it("a runner that cannot watch: no monitor, a warning, the periodic reconcile only", () => {
    const { clock } = manualClock();
    const logger = memoryLogger();
    const runner = new RecordingRunner();
    const blind = { run: runner.run.bind(runner), startDaemon: runner.startDaemon.bind(runner), spawns: 0 };
    const monitor = new HostEvents({
      runner: blind,
      clock,
      logger,
      backoff: { baseMs: 1, maxMs: 1 },
      onEvent: () => {},
      onRestart: () => {},
    });
    expect(monitor.start()).toBe(false);
    expect(logger.records.map((r) => r.msg)).toEqual([
      "no host events with this command runner: interfaces are checked by the periodic reconcile only",
    ]);
  });
});
