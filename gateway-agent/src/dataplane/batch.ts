/**
 * Batched commands: chunking, reading `-force -batch` errors, and running a batch (or a
 * chunked `wg set`) with a per-item retry of what failed. Failures are returned, never
 * thrown, and never block the other items.
 */
import type { CommandResult, CommandRunner } from "../commands/runner.ts";

export interface Failure {
  readonly public_key: string;
  readonly reason: string;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * `ip -force -batch -` and `bridge -force -batch -` print the error of a failed line,
 * then `Command failed -:N`. Returns line number (1-based) → error text.
 */
export function parseBatchErrors(stderr: string): Map<number, string> {
  const failures = new Map<number, string>();
  let pending: string[] = [];
  for (const line of stderr.split("\n")) {
    const m = /^Command failed (?:-|[^:]*):(\d+)\s*$/.exec(line.trim());
    if (m) {
      failures.set(Number(m[1]), pending.join(" ").trim() || "failed");
      pending = [];
    } else if (line.trim()) {
      pending.push(line.trim());
    }
  }
  return failures;
}

/** Adding something that is already there is success. */
export const isBenignAddError = (message: string): boolean => /File exists|already exists/i.test(message);

/** Removing something that is already gone is success. */
export const isBenignRemoveError = (message: string): boolean =>
  /No such process|No such file or directory|not found|does not exist|No such device|Cannot find device|ENOENT/i.test(
    message,
  );

const reasonOf = (r: CommandResult) => (r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`).slice(0, 400);

interface RetryOptions<T> {
  readonly items: T[];
  readonly benign: (message: string) => boolean;
  readonly failed: Failure[];
  /** A command failed (after benign errors were discounted); label = the program name. */
  readonly onFailure?: ((command: string) => void) | undefined;
}

/** `wg` in chunks (argv length); a failed chunk is retried key by key. */
export async function wgInChunks<T extends { key: string }>(
  runner: CommandRunner,
  o: RetryOptions<T> & { size: number; many: (part: T[]) => string[]; one: (item: T) => string[] },
): Promise<T[]> {
  const ok: T[] = [];
  for (const part of chunk(o.items, o.size)) {
    const r = await runner.run(o.many(part));
    if (r.code === 0) {
      ok.push(...part);
      continue;
    }
    o.onFailure?.("wg");
    for (const item of part) {
      const single = await runner.run(o.one(item));
      if (single.code === 0 || o.benign(single.stderr)) ok.push(item);
      else {
        o.onFailure?.("wg");
        o.failed.push({ public_key: item.key, reason: `wg: ${reasonOf(single)}` });
      }
    }
  }
  return ok;
}

/** One batch process; on failure, the failed lines (or all, if unknown) are retried one by one. */
export async function batchWithRetry<T extends { key: string }>(
  runner: CommandRunner,
  o: RetryOptions<T> & {
    command: string;
    argv: string[];
    line: (item: T) => string;
    single: (item: T) => string[];
  },
): Promise<T[]> {
  const { items } = o;
  if (items.length === 0) return [];
  const r = await runner.run(o.argv, { stdin: `${items.map(o.line).join("\n")}\n` });
  if (r.code === 0) return items;
  const errors = parseBatchErrors(r.stderr);
  const retry = new Set<number>();
  if (errors.size === 0) {
    for (let i = 0; i < items.length; i++) retry.add(i);
  } else {
    for (const [lineNo, message] of errors) if (!o.benign(message)) retry.add(lineNo - 1);
  }
  if (retry.size === 0) return items;
  o.onFailure?.(o.command);
  const ok: T[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (!retry.has(i)) {
      ok.push(item);
      continue;
    }
    const s = await runner.run(o.single(item));
    if (s.code === 0 || o.benign(s.stderr)) ok.push(item);
    else {
      o.onFailure?.(o.command);
      o.failed.push({ public_key: item.key, reason: `${o.command}: ${reasonOf(s)}` });
    }
  }
  return ok;
}
