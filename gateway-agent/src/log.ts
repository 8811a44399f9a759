/** Structured JSON logs: one object per line with ts, level, msg and the given fields. */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function serializable(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

/** Writes JSON lines to `write` (stderr by default); drops lines below `level`. */
export function jsonLogger(
  options: { level?: LogLevel; write?: (line: string) => void; now?: () => number; base?: LogFields } = {},
): Logger {
  const min = ORDER[options.level ?? "info"];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const now = options.now ?? Date.now;
  const base = options.base ?? {};
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (ORDER[level] < min) return;
    const record: Record<string, unknown> = { ts: new Date(now()).toISOString(), level, msg };
    for (const [k, v] of Object.entries({ ...base, ...fields })) {
      if (k === "ts" || k === "level" || k === "msg") continue;
      record[k] = serializable(v);
    }
    write(`${JSON.stringify(record)}\n`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => jsonLogger({ ...options, base: { ...base, ...fields } }),
  };
}

/** A logger that keeps records in memory (tests). */
export function memoryLogger(): Logger & { records: Array<{ level: LogLevel; msg: string } & LogFields> } {
  const records: Array<{ level: LogLevel; msg: string } & LogFields> = [];
  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
      records.push({ ...base, ...fields, level, msg });
    };
    return {
      debug: (m, f) => emit("debug", m, f),
      info: (m, f) => emit("info", m, f),
      warn: (m, f) => emit("warn", m, f),
      error: (m, f) => emit("error", m, f),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return Object.assign(make({}), { records });
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
