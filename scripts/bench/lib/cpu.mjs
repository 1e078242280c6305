// Who used the CPU during a measurement: per process (percent of one core), the rest of the machine
// ("other", percent of one core) and the machine as a whole (busy and steal, percent of all cores), from
// /proc. Elsewhere than Linux it reports nothing.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux architecture Node runs on

const read = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

function processTicks(pid) {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // Fields after the ")" that closes the command name: utime is the 12th, stime the 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** CPU time (user + system) `pid` has used since it started, in milliseconds; undefined once it is gone. */
export function cpuMs(pid) {
  const ticks = processTicks(pid);
  return ticks === undefined ? undefined : (ticks * 1000) / TICKS_PER_SECOND;
}

function machineTicks() {
  const line = read('/proc/stat')?.split('\n')[0];
  if (!line?.startsWith('cpu ')) return undefined;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal };
}

/** Starts watching `processes` ({ name: pid }); call the result to get the usage since. */
export function watchCpu(processes) {
  const start = {
    at: performance.now(),
    machine: machineTicks(),
    processes: Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, processTicks(pid)])),
  };
  return () => {
    const seconds = (performance.now() - start.at) / 1000;
    const machine = machineTicks();
    const usage = {};
    for (const [name, pid] of Object.entries(processes)) {
      const ticks = processTicks(pid);
      if (ticks !== undefined && start.processes[name] !== undefined) {
        usage[name] = Math.round(((ticks - start.processes[name]) / TICKS_PER_SECOND / seconds) * 100);
      }
    }
    if (machine && start.machine) {
      const total =
        machine.busy +
        machine.idle +
        machine.steal -
        (start.machine.busy + start.machine.idle + start.machine.steal);
      const busy = (machine.busy - start.machine.busy) / total;
      usage.machineBusy = Math.round(busy * 100);
      usage.machineSteal = Math.round(((machine.steal - start.machine.steal) / total) * 100);
      // Everything else, in % of one core: other processes, and the kernel's own work (loopback
      // networking's softirqs land here too, so a quiet machine shows some 10).
      const watched = Object.keys(processes).reduce((sum, name) => sum + (usage[name] ?? 0), 0);
      usage.other = Math.max(0, Math.round(busy * cpus().length * 100 - watched));
    }
    return usage;
  };
}
