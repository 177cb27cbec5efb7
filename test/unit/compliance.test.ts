/** Every control mapped in compliance/ points at files that exist and at a test that proves it. */
import { scan } from '../../compliance/report';

const rows = scan();

test('compliance/ maps controls', () => {
  expect(rows.length).toBeGreaterThan(0);
});

test.each(rows.map((r) => [`${r.control} (${r.file}:${r.line})`, r] as const))(
  '%s cites existing code and tests',
  (_name, row) => {
    expect(row.problems).toEqual([]);
  },
);
