/**
 * Readiness handshake with `npm start` (scripts/start.ts): a child started with an IPC channel tells
 * its parent it is serving, whatever its log level. Without a parent channel this does nothing.
 */
export function signalReady(name: string): void {
  if (typeof process.send !== 'function') return;
  process.send({ ready: name });
  // The channel must not keep the process alive once its work is done (graceful stop).
  process.channel?.unref();
}
