import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux everywhere that matters). */
const CLK_TCK = 100;

interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  cpuMs: number;
  rssBytes: number;
}

export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const f = text.slice(close + 2).split(" ");
  // f[0] = state (field 3); utime = field 14, stime = field 15, rss = field 24 (pages)
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  const rssPages = Number(f[21]);
  return { pid, comm, ppid: Number(f[1]), cpuMs: ((utime + stime) * 1000) / CLK_TCK, rssBytes: rssPages * 4096 };
}

/** Direct children of a process, optionally only those whose command name matches. */
export function childPids(parent = process.pid, comm?: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const st = procStat(Number(entry));
    if (st && st.ppid === parent && (comm === undefined || st.comm === comm)) out.push(st.pid);
  }
  return out;
}

/** Descendant pids (children, grandchildren, ...) of a process. */
export function descendantPids(root = process.pid): number[] {
  const byParent = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const st = procStat(Number(entry));
    if (!st) continue;
    const list = byParent.get(st.ppid) ?? [];
    list.push(st.pid);
    byParent.set(st.ppid, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    for (const child of byParent.get(stack.pop()!) ?? []) {
      out.push(child);
      stack.push(child);
    }
  }
  return out;
}

export const cpuMsOf = (pid: number): number => procStat(pid)?.cpuMs ?? Number.NaN;

/** This process's CPU time (user + system), ms. */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Spawned processes so far (system-wide fork counter from /proc/stat: "processes N"). */
export function forksSoFar(): number {
  const m = /^processes (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"));
  return m ? Number(m[1]) : Number.NaN;
}

/** Busy CPU time of the whole machine so far, ms (all cores; /proc/stat "cpu" line minus idle and iowait). */
export function systemBusyMs(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
  return (busy * 1000) / CLK_TCK;
}

/**
 * CPU time of this process and all its descendants so far, ms, including children that
 * already exited and were reaped (cutime/cstime), so a load generator that ends during a
 * measurement does not turn into "foreign" load.
 */
export function treeCpuMs(): number {
  let total = reapedChildrenCpuMs();
  for (const pid of [process.pid, ...descendantPids()]) total += procStat(pid)?.cpuMs ?? 0;
  return total;
}

/** CPU of this process's children that exited and were waited for (fields 16 and 17). */
function reapedChildrenCpuMs(): number {
  const text = readFileSync("/proc/self/stat", "utf8");
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK;
}

/**
 * Measures CPU that processes outside this bench used during an interval (other work on a
 * shared machine), in cores. A figure measured while foreign load was high is noise.
 */
export function foreignLoadMeter(): () => number {
  const t0 = performance.now();
  const sys0 = systemBusyMs();
  const own0 = treeCpuMs();
  return () => {
    const elapsed = performance.now() - t0;
    const foreign = systemBusyMs() - sys0 - (treeCpuMs() - own0);
    return Math.max(0, foreign / elapsed);
  };
}
