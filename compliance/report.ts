/**
 * Compliance report generator. Reads the control mappings (compliance/*.md tables whose first
 * column names a control, e.g. "PCI DSS 3.5.1" or "UAE SRR ..."), checks that every file a mapping
 * cites exists, that every control cites at least one test under test/, and that a cited test name
 * (written `test/file.test.ts` › "name") occurs in that file. Prints a report; exits 1 on a gap.
 *   npm run compliance:report [-- --markdown]
 */
import fs from 'node:fs';
import path from 'node:path';

export interface ControlRow {
  file: string;
  line: number;
  control: string;
  paths: string[];
  tests: string[];
  problems: string[];
}

const ROOT = path.resolve(__dirname, '..');
const CONTROL = /^(PCI( DSS)?\b|UAE\b|SRR\b|Req(uirement)?\.?\s|\d+(\.\d+)+\b)/i;
const PATH =
  /`((?:api|activities|workflows|workers|domain|db|security|compliance|cli|scripts|docs|test|bench)\/[^`\s:]+?)(?::\d+)?`/g;
const NAMED_TEST = /`(test\/[^`]+?\.test\.ts)`\s*›\s*"([^"]+)"/g;

export function scan(dir = path.join(ROOT, 'compliance')): ControlRow[] {
  const rows: ControlRow[] = [];
  for (const f of fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.md'))
    .sort()) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8').split('\n');
    text.forEach((raw, i) => {
      if (!raw.startsWith('|') || /^\|\s*-/.test(raw)) return;
      const cells = raw
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
      const control = cells[0]?.replace(/\*\*/g, '') ?? '';
      if (!CONTROL.test(control)) return;
      const paths = [...raw.matchAll(PATH)].map((m) => m[1]!).filter(Boolean);
      const problems: string[] = [];
      for (const p of paths) {
        const clean = p.replace(/[#].*$/, '');
        if (!fs.existsSync(path.join(ROOT, clean))) problems.push(`cites missing file ${clean}`);
      }
      const tests = paths.filter((p) => p.startsWith('test/'));
      if (tests.length === 0) problems.push('cites no test');
      for (const m of raw.matchAll(NAMED_TEST)) {
        const file = path.join(ROOT, m[1]!);
        if (fs.existsSync(file) && !fs.readFileSync(file, 'utf8').includes(m[2]!))
          problems.push(`test "${m[2]}" not found in ${m[1]}`);
      }
      rows.push({ file: `compliance/${f}`, line: i + 1, control, paths, tests, problems });
    });
  }
  return rows;
}

function main(): void {
  const rows = scan();
  const bad = rows.filter((r) => r.problems.length > 0);
  const markdown = process.argv.includes('--markdown');
  const out: string[] = [];
  if (markdown) {
    out.push('| Control | Mapping | Tests | Status |', '|---|---|---|---|');
    for (const r of rows) {
      out.push(
        `| ${r.control} | ${r.file}:${r.line} | ${r.tests.map((t) => `\`${t}\``).join(', ')} | ${r.problems.length ? r.problems.join('; ') : 'ok'} |`,
      );
    }
  } else {
    for (const r of rows)
      out.push(
        `${r.problems.length ? 'GAP' : 'ok '}  ${r.control}  (${r.file}:${r.line})${r.problems.length ? ` — ${r.problems.join('; ')}` : ''}`,
      );
  }
  out.push(
    '',
    `${rows.length} controls mapped, ${rows.length - bad.length} proven by an existing test, ${bad.length} with gaps`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
  process.exit(bad.length ? 1 : 0);
}

if (require.main === module) main();
