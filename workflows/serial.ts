/**
 * A workflow's operations run one at a time: each starts after the previous one settled (whether it
 * succeeded or failed) and so re-checks the state the previous one left. One queue per workflow run:
 * call `createSerial()` inside the workflow function, never at module scope (the module is shared by
 * every run in the worker's isolate).
 */
export type Serial = <T>(fn: () => Promise<T>) => Promise<T>;

export function createSerial(): Serial {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn);
    tail = run.catch(() => undefined);
    return run;
  };
}
