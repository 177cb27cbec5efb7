/**
 * The one logger. pino with path redaction for known secret fields, plus a formatter hook that runs
 * every log object through the card-number scrubber, so a PAN that slips into a message or an error
 * is masked to BIN + last 4 before it is written.
 */
import pino, { type Logger } from 'pino';
import { scrubValue } from './redaction';

export type { Logger };

export function createLogger(
  opts: { level?: string; name?: string; destination?: pino.DestinationStream } = {},
): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      name: opts.name,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          '*.number',
          '*.cvc',
          '*.clientSecret',
          '*.password',
          '*.accessToken',
          '*.secret',
        ],
        censor: '[redacted]',
      },
      formatters: {
        log: (obj) => scrubValue(obj) as Record<string, unknown>,
      },
      hooks: {
        // Messages are formatted outside `formatters.log`; scrub them too.
        logMethod(args, method) {
          // `log.error(err)` makes err.message the line's msg: give it an explicit, scrubbed one.
          const first: unknown = args[0];
          const normalized: unknown[] =
            first instanceof Error && typeof args[1] !== 'string'
              ? [{ err: first }, first.message, ...args.slice(1)]
              : args;
          const scrubbed = normalized.map((a) => scrubValue(a));
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
      serializers: {
        err: (err: Error) => ({
          type: err.name,
          message: scrubValue(err.message),
          stack: scrubValue(err.stack),
        }),
      },
    },
    opts.destination,
  );
}
