/**
 * The deploy replay gate (cli/deploy.ts `ramp` and `promote`): the workflow code of the build being
 * deployed must replay the corpus and the recent live histories of the deployment's queues, decoded
 * in memory, or the step is refused naming the workflow, its run and the event.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { dataConverter } from '../workflows/data-converter';
import { decodeHistoryPayloads, installReplayKeyring, readHistoryFile } from './workflows';

/**
 * The replay corpus shipped with the build: test/replay/histories next to the sources (a checkout),
 * or beside dist/ (an image that copies it there); `--corpus <dir>` otherwise.
 */
export const DEFAULT_CORPUS_DIR =
  [
    path.join(__dirname, '..', 'test', 'replay', 'histories'),
    path.join(__dirname, '..', '..', 'test', 'replay', 'histories'),
  ].find((d) => fs.existsSync(d)) ?? path.join(__dirname, '..', 'test', 'replay', 'histories');

/** Running workflows of these types move to the new build (AUTO_UPGRADE): the gate replays them too. */
const AUTO_UPGRADE_TYPES = ['webhookEndpointWorkflow', 'webhookDispatcherWorkflow'];

export type WorkflowCode = { workflowsPath: string } | { workflowBundle: { codePath: string } };

export interface GateRefusal {
  workflowId: string;
  runId: string | undefined;
  /** `corpus <file>` or `live`. */
  source: string;
  /** e.g. `event 5 (EVENT_TYPE_TIMER_STARTED)`, when the SDK's message names one. */
  event: string;
  message: string;
}

export interface GateResult {
  corpus: number;
  live: number;
  refusal?: GateRefusal | undefined;
}

interface Candidate {
  workflowId: string;
  runId?: string | undefined;
  source: string;
  history: History;
}

const EventType = temporal.api.enums.v1.EventType;

/**
 * The event the SDK's non-determinism message points at. Core names it by id ("... event 5 ...",
 * "HistoryEvent(id: 5, ...") or by type; the id is looked up in the history for its type.
 */
export function eventOf(message: string, history: History): string {
  const id = /HistoryEvent\(id: (\d+)/.exec(message)?.[1] ?? /\bevent(?: id)?:? #?(\d+)/i.exec(message)?.[1];
  if (id) {
    const ev = history.events?.find((e) => Number(e.eventId) === Number(id));
    const type = ev?.eventType != null ? EventType[ev.eventType] : undefined;
    return `event ${id}${type ? ` (${type})` : ''}`;
  }
  const patch = /patch marker encountered for change ([^,\s]+)/i.exec(message)?.[1];
  const marker = patch ? patchMarkerEvent(history, patch) : undefined;
  if (marker) return `event ${marker} (EVENT_TYPE_MARKER_RECORDED, patch ${patch})`;
  // "Activity type of scheduled event 'x' ...", "Timer ... 'x' ...": the first event of that name.
  const recorded = /(?:event|id) '([^']+)'/.exec(message)?.[1];
  const ev = recorded ? namedEvent(history, recorded) : undefined;
  if (ev) return `event ${String(ev.eventId)} (${EventType[ev.eventType ?? 0]}, '${recorded}')`;
  return 'event unknown (see the message)';
}

/** The first event scheduling an activity, timer or child workflow named `name`. */
function namedEvent(history: History, name: string) {
  return history.events?.find(
    (e) =>
      e.activityTaskScheduledEventAttributes?.activityType?.name === name ||
      e.timerStartedEventAttributes?.timerId === name ||
      e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name === name,
  );
}

/** The id of the MarkerRecorded event of patch `patchId` (core's marker: details['patch-data'] = {id}). */
function patchMarkerEvent(history: History, patchId: string): string | undefined {
  for (const e of history.events ?? []) {
    const m = e.markerRecordedEventAttributes;
    const data = m?.markerName === 'core_patch' ? m.details?.['patch-data']?.payloads?.[0]?.data : undefined;
    if (!data) continue;
    try {
      if ((JSON.parse(Buffer.from(data).toString('utf8')) as { id?: string }).id === patchId)
        return String(e.eventId);
    } catch {
      // not a patch marker
    }
  }
  return undefined;
}

/**
 * The SDK wraps core's reason ("[TMPRL1100] Nondeterminism error: ...") in a debug dump of the
 * failed activation: keep the reason.
 */
function coreReason(message: string): string {
  const inner = /message: "((?:[^"\\]|\\.)*)"/.exec(message)?.[1];
  return (inner ? inner.replace(/\\(.)/g, '$1') : message.split('\n')[0]!).slice(0, 500);
}

/** The corpus: every history file in `dir`, decoded already (clear payloads). */
export function corpusCandidates(dir: string): Candidate[] {
  if (!fs.existsSync(dir)) throw new Error(`replay corpus ${dir} not found (give --corpus <dir>)`);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const history = readHistoryFile(path.join(dir, f));
      const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
      return { workflowId: started?.workflowId || path.basename(f, '.json'), source: `corpus ${f}`, history };
    });
}

const quote = (v: string) => `'${v.replace(/'/g, "\\'")}'`;

/** The visibility query of the gate's live histories. */
export function recentQuery(taskQueues: string[], since: Date): string {
  const t = quote(since.toISOString());
  const queues = taskQueues.map((q) => `TaskQueue = ${quote(q)}`).join(' OR ');
  const loops = AUTO_UPGRADE_TYPES.map((w) => `WorkflowType = ${quote(w)}`).join(' OR ');
  return `(${queues}) AND (StartTime >= ${t} OR CloseTime >= ${t} OR (ExecutionStatus = 'Running' AND (${loops})))`;
}

/** The live histories, fetched and decrypted in memory (the payload keys must be configured). */
export async function liveCandidates(
  client: Client,
  opts: { taskQueues: string[]; since: Date; limit: number },
): Promise<Candidate[]> {
  const out: Candidate[] = [];
  for await (const wf of client.workflow.list({ query: recentQuery(opts.taskQueues, opts.since) })) {
    if (out.length >= opts.limit) {
      throw new Error(
        `more than ${opts.limit} workflows to replay since ${opts.since.toISOString()}: raise --limit or lower --hours`,
      );
    }
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    out.push({
      workflowId: wf.workflowId,
      runId: wf.runId,
      source: 'live',
      history: await decodeHistoryPayloads(history),
    });
  }
  return out;
}

/**
 * Replays every candidate against `code`; the first one that does not replay is the refusal.
 * Histories are decoded before this: the replay worker gets a throwaway keyring.
 */
export async function replayAll(
  code: WorkflowCode,
  candidates: Candidate[],
): Promise<GateRefusal | undefined> {
  if (candidates.length === 0) return undefined;
  installReplayKeyring();
  const results = Worker.runReplayHistories(
    { ...code, dataConverter },
    candidates.map((c) => ({ workflowId: c.workflowId, history: c.history })),
  );
  // One result per history, in order (the replay worker's run ids are its own).
  let i = 0;
  for await (const r of results) {
    const c = candidates[i++]!;
    if (!r.error) continue;
    const message = r.error instanceof Error ? r.error.message : String(r.error);
    return {
      workflowId: c.workflowId,
      runId: c.runId,
      source: c.source,
      event: eventOf(message, c.history),
      message: coreReason(message),
    };
  }
  return undefined;
}

/** The gate: the live histories first (they need the real keys to decode), then the corpus. */
export async function replayGate(opts: {
  client: Client;
  code: WorkflowCode;
  corpusDir: string;
  taskQueues: string[];
  since: Date;
  limit: number;
}): Promise<GateResult> {
  const live = await liveCandidates(opts.client, opts);
  const corpus = corpusCandidates(opts.corpusDir);
  const refusal = await replayAll(opts.code, [...live, ...corpus]);
  return { corpus: corpus.length, live: live.length, refusal };
}

export const refusalText = (build: string, r: GateRefusal): string =>
  `refused: build ${build} does not replay workflow ${r.workflowId}${r.runId ? ` (run ${r.runId})` : ''} ` +
  `from ${r.source} at ${r.event}: ${r.message}`;
