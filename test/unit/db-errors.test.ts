/**
 * PostgreSQL errors by what a retry can do: values the database refuses (SQLSTATE classes 22, 23, 42)
 * are poison and never retried; a server that is down or going away (08, 53, 57, socket errors,
 * node-postgres' dropped connections) is unavailable and retried / answered 503; the rest is unknown.
 */
import { classifyDbError } from '../../db/errors';

const pg = (code: string, message = 'x') => Object.assign(new Error(message), { code });

test.each([
  ['22021 NUL / invalid byte sequence', pg('22021'), 'poison'],
  ['22P05 untranslatable character', pg('22P05'), 'poison'],
  ['22P02 invalid text representation', pg('22P02'), 'poison'],
  ['23505 unique violation', pg('23505'), 'poison'],
  ['23503 foreign key violation', pg('23503'), 'poison'],
  ['42501 insufficient privilege', pg('42501'), 'poison'],
  ['42P01 undefined table', pg('42P01'), 'poison'],
  ['57P01 admin shutdown', pg('57P01'), 'unavailable'],
  ['57P03 cannot connect now', pg('57P03'), 'unavailable'],
  ['08006 connection failure', pg('08006'), 'unavailable'],
  ['53300 too many connections', pg('53300'), 'unavailable'],
  ['ECONNREFUSED', pg('ECONNREFUSED'), 'unavailable'],
  ['dropped connection', new Error('Connection terminated unexpectedly'), 'unavailable'],
  ['refused on every address', new AggregateError([pg('ECONNREFUSED')], ''), 'unavailable'],
  ['40001 serialization failure (retry, but not an outage)', pg('40001'), undefined],
  ['a plain bug', new TypeError('x is undefined'), undefined],
  ['not an error', 'boom', undefined],
])('%s', (_name, err, kind) => {
  expect(classifyDbError(err)).toBe(kind);
});
