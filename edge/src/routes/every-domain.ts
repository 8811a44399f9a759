import { HTTPException } from "hono/http-exception";
import { logLine } from "../log.ts";

/**
 * An admin write is all or nothing: applied to every listed domain's object, and when it
 * fails in one, undone in the others (each `apply` returns what its `undo` needs), then
 * answered 500 naming the domains that failed. Each object's own write is atomic.
 */
export async function inEveryDomainOrNone<T>(
  what: string,
  domains: readonly string[],
  apply: (domain: string) => Promise<T>,
  undo: (domain: string, before: T) => Promise<unknown>,
): Promise<T[]> {
  const results = await Promise.allSettled(domains.map(apply));
  const failed = domains.filter((_, i) => results[i]!.status === "rejected");
  if (failed.length === 0) return results.map((r) => (r as PromiseFulfilledResult<T>).value);

  const undone = await Promise.allSettled(
    domains.map((domain, i) => {
      const result = results[i]!;
      return result.status === "fulfilled" ? undo(domain, result.value) : Promise.resolve();
    }),
  );
  const notUndone = domains.filter((_, i) => undone[i]!.status === "rejected");
  logLine("error", `admin ${what} failed`, {
    failed,
    not_undone: notUndone,
    errors: results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : [])),
  });
  throw new HTTPException(500, {
    message:
      `${what} failed in ${failed.join(", ")}; ` +
      (notUndone.length === 0
        ? "undone in the other domains: try again"
        : `could not be undone in ${notUndone.join(", ")}: check them and try again`),
  });
}
