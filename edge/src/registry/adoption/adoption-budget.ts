import { firstRow } from "../../storage/sql.ts";

/** The domain's own scope in `adoption_budget` (gateway names never contain '*'). */
const DOMAIN_SCOPE = "*";

interface BudgetRow {
  window_start: number;
  used: number;
}

/** Pure: what a fixed window has used by `now` (a window that ended counts nothing). */
export function usedInWindow(row: BudgetRow | undefined, now: number, windowMs: number): number {
  return row !== undefined && now - row.window_start < windowMs && now >= row.window_start ? row.used : 0;
}

/**
 * How many new keys a gateway, and the domain, may still add by adoption in the current
 * window. Stored, so neither eviction nor reconnecting resets it: a gateway cannot buy a
 * fresh budget by making the object restart.
 */
export class AdoptionBudget {
  private readonly sql: SqlStorage;
  private readonly limits: { perGateway: number; perDomain: number; windowMs: number };

  constructor(sql: SqlStorage, limits: { perGateway: number; perDomain: number; windowMs: number }) {
    this.sql = sql;
    this.limits = limits;
  }

  room(gateway: string, now: number): { gateway: number; domain: number } {
    return {
      gateway: this.limits.perGateway - this.used(gateway, now),
      domain: this.limits.perDomain - this.used(DOMAIN_SCOPE, now),
    };
  }

  spend(gateway: string, n: number, now: number): void {
    if (n <= 0) return;
    for (const scope of [gateway, DOMAIN_SCOPE]) {
      const used = this.used(scope, now);
      const row = this.row(scope);
      const start = used === 0 || row === undefined ? now : row.window_start;
      this.sql.exec(
        `INSERT INTO adoption_budget (scope, window_start, used) VALUES (?, ?, ?)
         ON CONFLICT (scope) DO UPDATE SET window_start = excluded.window_start, used = excluded.used`,
        scope,
        start,
        used + n,
      );
    }
  }

  private used(scope: string, now: number): number {
    return usedInWindow(this.row(scope), now, this.limits.windowMs);
  }

  private row(scope: string): BudgetRow | undefined {
    return firstRow<BudgetRow>(this.sql, "SELECT window_start, used FROM adoption_budget WHERE scope = ?", scope);
  }
}
