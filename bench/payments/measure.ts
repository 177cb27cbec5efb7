/**
 * What the payments bench reads besides wall time: CPU of a process tree from /proc, the pid behind
 * a loopback port (a reused Temporal server), and the size of sampled workflow histories.
 */
import fs from 'node:fs';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

/** Linux clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on every mainstream kernel). */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  ppid: number;
  /** utime + stime, and cutime + cstime (children it has waited for), in ms. */
  own: number;
  reaped: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: fields are counted after its ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ms = (i: number) => (Number(f[i]) * 1000) / TICKS_PER_SECOND;
  // f[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
  return { ppid: Number(f[1]), own: ms(11) + ms(12), reaped: ms(13) + ms(14) };
}

/**
 * CPU ms used so far by `pid` and every descendant: live ones by their own times, exited ones through
 * their parents' cutime/cstime (a server that reaps its workers, as PostgreSQL does, keeps them).
 */
export function treeCpuMs(pid: number): number | undefined {
  const root = readStat(pid);
  if (!root) return undefined;
  const children = new Map<number, number[]>();
  const stats = new Map<number, ProcStat>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (!st) continue;
    stats.set(Number(name), st);
    children.set(st.ppid, [...(children.get(st.ppid) ?? []), Number(name)]);
  }
  let total = 0;
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop()!;
    const st = p === pid ? root : stats.get(p);
    if (st) total += st.own + st.reaped;
    todo.push(...(children.get(p) ?? []));
  }
  return total;
}

/** The parent of `pid` (a PostgreSQL backend's parent is the postmaster). */
export const parentPid = (pid: number): number | undefined => readStat(pid)?.ppid;

/** This process's CPU ms (µs precision, all threads: the SDK's Rust core included). */
export const selfCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * CPU ms of this process's main thread: the JS event loop that runs the HTTP client, the API and the
 * activities. The rest of the process (workflow threads, the SDK's Rust core, GC helpers) is the
 * process total minus this.
 */
export const mainThreadCpuMs = (): number => {
  const f = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const cols = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(cols[11]) + Number(cols[12])) * 1000) / TICKS_PER_SECOND;
};

/** The pid listening on 127.0.0.1/::1:`port`, from /proc/net/tcp* and the fds we may read. */
export function pidListeningOn(port: number): number | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines: string[];
    try {
      lines = fs.readFileSync(file, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const cols = line.trim().split(/\s+/);
      // local_address is HEXIP:PORT; state 0A is LISTEN; column 9 is the socket's inode.
      if (cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '0A' && cols[9]) inodes.add(`socket:[${cols[9]}]`);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${name}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (inodes.has(fs.readlinkSync(`/proc/${name}/fd/${fd}`))) return Number(name);
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return undefined;
}

export const percentile = (xs: number[], q: number): number =>
  xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(xs.length * q) - 1)]!;

export interface HistorySample {
  workflows: number;
  /** Mean events and encoded bytes (protobuf History, payloads as stored) per workflow. */
  events: number;
  bytes: number;
  /** Event type -> count in the first sampled history (the shape check). */
  shape: Record<string, number>;
  /**
   * Mean ms per task, from event times: scheduled -> started is the server's dispatch (and the wait
   * for a free poller), started -> completed the worker's run plus the completion's round trip.
   */
  workflowTask: { dispatch: number; run: number };
  activityTask: { dispatch: number; run: number };
}

const ms = (t: temporal.api.history.v1.IHistoryEvent['eventTime']) =>
  t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : 0;

/** Sums of dispatch and run times, and task counts, for workflow and activity tasks of one history. */
function taskTimes(h: temporal.api.history.v1.IHistory) {
  const at = new Map<number, number>();
  const out = { wft: { dispatch: 0, run: 0, n: 0 }, act: { dispatch: 0, run: 0, n: 0 } };
  for (const e of h.events ?? []) {
    const t = ms(e.eventTime);
    at.set(Number(e.eventId), t);
    const wStart = e.workflowTaskStartedEventAttributes;
    const wDone = e.workflowTaskCompletedEventAttributes;
    const aStart = e.activityTaskStartedEventAttributes;
    const aDone = e.activityTaskCompletedEventAttributes;
    if (wStart) out.wft.dispatch += t - (at.get(Number(wStart.scheduledEventId)) ?? t);
    if (wDone) {
      out.wft.run += t - (at.get(Number(wDone.startedEventId)) ?? t);
      out.wft.n++;
    }
    // An activity's started event is written with its completion: its time is the start's.
    if (aStart) out.act.dispatch += t - (at.get(Number(aStart.scheduledEventId)) ?? t);
    if (aDone) {
      out.act.run += t - (at.get(Number(aDone.startedEventId)) ?? t);
      out.act.n++;
    }
  }
  return out;
}

/** Histories of up to `max` of `ids`, spread over the phase. */
export async function sampleHistories(client: Client, ids: string[], max: number): Promise<HistorySample> {
  const step = Math.max(1, Math.floor(ids.length / max));
  const picked = ids.filter((_, i) => i % step === 0).slice(0, max);
  let events = 0;
  let bytes = 0;
  let shape: Record<string, number> = {};
  const sum = { wft: { dispatch: 0, run: 0, n: 0 }, act: { dispatch: 0, run: 0, n: 0 } };
  for (const [i, id] of picked.entries()) {
    const h = await client.workflow.getHandle(id).fetchHistory();
    events += h.events?.length ?? 0;
    bytes += temporal.api.history.v1.History.encode(h).finish().length;
    if (i === 0) shape = eventShape(h);
    const t = taskTimes(h);
    for (const k of ['wft', 'act'] as const) {
      sum[k].dispatch += t[k].dispatch;
      sum[k].run += t[k].run;
      sum[k].n += t[k].n;
    }
  }
  const n = Math.max(1, picked.length);
  const mean = (k: 'wft' | 'act') => ({
    dispatch: sum[k].dispatch / Math.max(1, sum[k].n),
    run: sum[k].run / Math.max(1, sum[k].n),
  });
  return {
    workflows: picked.length,
    events: events / n,
    bytes: bytes / n,
    shape,
    workflowTask: mean('wft'),
    activityTask: mean('act'),
  };
}

function eventShape(h: temporal.api.history.v1.IHistory): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of h.events ?? []) {
    const name = (temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType)).replace(
      /^EVENT_TYPE_/,
      '',
    );
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}
