/** What a suite hands back to the orchestrator: table rows, target checks, raw data. */
export interface Row {
  suite: string;
  figure: string;
  /** Throughput (requests/s) or a count/time, depending on the unit. */
  value: number;
  unit: string;
  p50?: number;
  p99?: number;
  max?: number;
  note?: string;
}

export interface Target {
  suite: string;
  name: string;
  measured: number;
  /** e.g. ">= 0.70" */
  target: string;
  met: boolean;
  note?: string;
}

export interface SuiteResult {
  rows: Row[];
  targets: Target[];
  data: Record<string, unknown>;
}

export interface BenchContext {
  quick: boolean;
  reps: number;
  log: (msg: string) => void;
}

export const target = (
  suite: string,
  name: string,
  measured: number,
  op: ">=" | "<=" | "==",
  bound: number,
  note?: string,
): Target => ({
  suite,
  name,
  measured,
  target: `${op} ${bound}`,
  met: op === ">=" ? measured >= bound : op === "<=" ? measured <= bound : measured === bound,
  ...(note ? { note } : {}),
});
