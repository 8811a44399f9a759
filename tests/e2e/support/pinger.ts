/**
 * A router's continuous ping across the overlay (`ping -6 -D -O -i 0.2`), kept in a file and
 * read back: which probes were never answered, and when. A late answer still counts as an
 * answer; a probe counts as lost only when no reply with its sequence number ever came.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Node, World } from "./world.ts";

export const PING_INTERVAL_S = 0.2;

export interface PingSummary {
  sent: number;
  answered: number;
  /** When each lost probe was found unanswered (ms since the epoch). */
  lostAt: number[];
}

export class Pinger {
  readonly node: Node;
  readonly #file: string;
  readonly #target: string;
  #child: ChildProcess | undefined;

  constructor(world: World, node: Node, target: string) {
    this.node = node;
    this.#target = target;
    this.#file = path.join(world.dir, `${node.name}.ping`);
  }

  start(): void {
    const out = openSync(this.#file, "a");
    this.#child = spawn(
      "ip",
      ["netns", "exec", this.node.ns, "ping", "-6", "-n", "-D", "-O", "-i", String(PING_INTERVAL_S), this.#target],
      { stdio: ["ignore", out, out], detached: true },
    );
    closeSync(out);
  }

  /** SIGINT, as an operator stops ping; the namespace's teardown kills it anyway. */
  stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        child.kill("SIGKILL");
        resolve();
      }, 3000);
      child.once("exit", () => {
        clearTimeout(t);
        resolve();
      });
      child.kill("SIGINT");
    });
  }

  /** An answer arrived after `sinceMs`: the overlay works (again). */
  answeredSince(sinceMs: number): boolean {
    return this.#lines().some((l) => l.reply && l.at > sinceMs);
  }

  summary(): PingSummary {
    const lines = this.#lines();
    const answered = new Set(lines.filter((l) => l.reply).map((l) => l.seq));
    const pending = new Map<number, number>();
    for (const l of lines) if (!l.reply && !pending.has(l.seq)) pending.set(l.seq, l.at);
    const lostAt = [...pending].filter(([seq]) => !answered.has(seq)).map(([, at]) => at);
    const sent = Math.max(0, ...lines.map((l) => l.seq));
    return { sent, answered: answered.size, lostAt: lostAt.sort((a, b) => a - b) };
  }

  tail(): string {
    return existsSync(this.#file) ? readFileSync(this.#file, "utf8").split("\n").slice(-8).join("\n") : "";
  }

  #lines(): Array<{ at: number; seq: number; reply: boolean }> {
    if (!existsSync(this.#file)) return [];
    const out: Array<{ at: number; seq: number; reply: boolean }> = [];
    for (const line of readFileSync(this.#file, "utf8").split("\n")) {
      const m = /^\[(\d+\.\d+)\] (?:(\d+ bytes from)|no answer yet for).*icmp_seq=(\d+)/.exec(line);
      if (m) out.push({ at: Number(m[1]) * 1000, seq: Number(m[3]), reply: m[2] !== undefined });
    }
    return out;
  }
}
