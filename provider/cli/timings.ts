import { readFileSync } from "node:fs";

/** Milliseconds from the process's start to this module's loading: node's own start-up and ours. */
const startedAt = process.uptime() * 1000;

/** Milliseconds since the process started (process.uptime: no perf_hooks to load at start-up). */
const now = (): number => process.uptime() * 1000;

/**
 * This process's peak resident memory in KiB: Linux's VmHWM. `ru_maxrss` would also count the
 * pages of the process it was spawned from (Linux keeps the high-water mark across exec).
 */
function peakRssKiB(): number {
  try {
    const found = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (found) return Number(found[1]);
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS;
}

/**
 * Time spent in each phase of one CLI run, summed over its calls. With WG_FABRIC_TIMINGS=1 the
 * CLI prints them, with the peak RSS, as one JSON line on stderr (bench/render reads it).
 */
export class Timings {
  private readonly phases: Record<string, number> = {};

  /** Runs `work`, adding its time to `phase`. */
  time<T>(phase: string, work: () => T): T {
    const start = now();
    try {
      return work();
    } finally {
      this.phases[phase] = (this.phases[phase] ?? 0) + now() - start;
    }
  }

  /** Prints the phases when asked for by WG_FABRIC_TIMINGS=1. */
  report(err: (line: string) => void): void {
    if (process.env.WG_FABRIC_TIMINGS !== "1") return;
    const rounded = Object.fromEntries(Object.entries(this.phases).map(([phase, ms]) => [phase, Math.round(ms * 10) / 10]));
    err(JSON.stringify({ start: Math.round(startedAt * 10) / 10, ...rounded, total: Math.round(now()), maxRssKiB: peakRssKiB() }));
  }
}
