/** One step of an object's schema. Append new ones; never edit an applied one. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Apply the migrations an object has not run yet, recording each in `migrations`. */
export function migrate(sql: SqlStorage, now: number, migrations: readonly Migration[]): number {
  sql.exec(
    "CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
  );
  const current = sql.exec<{ v: number | null }>("SELECT MAX(version) AS v FROM migrations").one().v ?? 0;
  for (const m of migrations) {
    if (m.version <= current) continue;
    sql.exec(m.sql);
    sql.exec("INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, ?)", m.version, m.name, now);
  }
  return migrations.at(-1)?.version ?? 0;
}
