/** Pure helpers for batched commands: chunking and reading `-force -batch` errors. */

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
