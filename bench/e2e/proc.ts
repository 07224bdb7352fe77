/**
 * CPU and memory of processes and of the machine, read from Linux's /proc (no dependency).
 *
 * - CPU time of a process: utime + stime of /proc/<pid>/stat, in clock ticks (USER_HZ).
 * - Peak RSS of a process: VmHWM of /proc/<pid>/status (the high-water mark over its life).
 * - The machine: the first line of /proc/stat (all cores), to tell busy, iowait and idle apart.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

const CLOCK_TICKS = ((): number => {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100; // USER_HZ is 100 on every mainstream Linux architecture
  }
})();

/** CPU seconds (user + system) a process has used so far; undefined once it is gone. */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) is in parentheses and may hold spaces: count the fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state), so field n is fields[n - 3]: utime is 14, stime 15.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Memory of a process in MiB: the current RSS and its high-water mark (VmHWM). */
export function memoryOf(pid: number): { rssMB: number; peakRssMB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMB: round(kb('VmRSS') / 1024, 1), peakRssMB: round(kb('VmHWM') / 1024, 1) };
  } catch {
    return undefined;
  }
}

/**
 * Bytes a process has had written to storage (`write_bytes` of /proc/<pid>/io: what reached
 * the block layer, WAL and checkpoints included) and its write system calls (`syscw`).
 */
export function ioOf(pid: number): { writeBytes: number; writeCalls: number } | undefined {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(io)?.[1] ?? NaN);
    return { writeBytes: field('write_bytes'), writeCalls: field('syscw') };
  } catch {
    return undefined;
  }
}

/** Jiffies of all cores from /proc/stat: total, idle and iowait. */
export interface MachineTicks {
  total: number;
  idle: number;
  iowait: number;
}

export function machineTicks(): MachineTicks {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  // cpu user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
  const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return { total: values.reduce((a, b) => a + b, 0), idle: values[3] ?? 0, iowait: values[4] ?? 0 };
}

/** Busy and iowait share of the whole machine (100 % = every core) between two readings. */
export function machineUsage(from: MachineTicks, to: MachineTicks): { busyPercent: number; iowaitPercent: number } {
  const total = to.total - from.total;
  if (total <= 0) return { busyPercent: 0, iowaitPercent: 0 };
  const idle = to.idle - from.idle;
  const iowait = to.iowait - from.iowait;
  return { busyPercent: round((100 * (total - idle - iowait)) / total, 1), iowaitPercent: round((100 * iowait) / total, 1) };
}

/**
 * Processes serving a run beside orderflow's own: the PostgreSQL backends connected to the
 * scratch database (their process title names it) and the NATS server. Found by scanning
 * /proc; a backend that ends between two readings takes its CPU time with it.
 */
export function findPids(match: { postgresDatabase?: string; command?: string }): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (match.postgresDatabase) {
        const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
        if (title.startsWith('postgres: ') && title.includes(` ${match.postgresDatabase} `)) pids.push(Number(entry));
      } else if (match.command) {
        if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === match.command) pids.push(Number(entry));
      }
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}
