/**
 * STYLE.md "Config and secrets": one module of env shapes (config/shapes.ts); each process root
 * parses process.env once and passes the typed config down; nothing else reads the environment.
 * And production code never imports from scripts/ (the dev tooling of `npm start`).
 * These scan the production sources (tsconfig.build.json's folders, scripts/ and compliance/ aside)
 * with the TypeScript parser, so a comment that mentions process.env does not count.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { tsFilesIn } from '../support/sources';

const ROOT = path.join(__dirname, '../..');

/** Process roots: the only production files that may read process.env, once each. */
const ROOTS = [
  'api/server.ts',
  'api/codec-server-main.ts',
  'workers/payment-worker.ts',
  'workers/card-worker.ts',
  'workers/webhook-worker.ts',
  'db/migrate.ts',
  'cli/index.ts',
];

function productionFolders(): string[] {
  const read = (p: string) => fs.readFileSync(p, 'utf8');
  const { config } = ts.readConfigFile(path.join(ROOT, 'tsconfig.build.json'), read) as {
    config: { include: string[] };
  };
  // scripts/: `npm start` and dev tooling (a process root of its own); compliance/: documents.
  return config.include.filter((d) => d !== 'scripts' && d !== 'compliance');
}

const files = productionFolders().flatMap(tsFilesIn);

const parsed = new Map<string, ts.SourceFile>();
function parse(file: string): ts.SourceFile {
  let sf = parsed.get(file);
  if (!sf) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    parsed.set(file, sf);
  }
  return sf;
}

function walk(node: ts.Node, visit: (n: ts.Node) => void): void {
  visit(node);
  node.forEachChild((c) => walk(c, visit));
}

const isProcess = (e: ts.Expression) =>
  (ts.isIdentifier(e) && e.text === 'process') ||
  (ts.isPropertyAccessExpression(e) && e.name.text === 'process');

/** Lines where the file reads the environment: process.env, process['env'], `{ env } = process`. */
function envReads(sf: ts.SourceFile): number[] {
  const lines: number[] = [];
  const at = (n: ts.Node) => lines.push(sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1);
  walk(sf, (n) => {
    if (ts.isPropertyAccessExpression(n) && n.name.text === 'env' && isProcess(n.expression)) at(n);
    else if (
      ts.isElementAccessExpression(n) &&
      isProcess(n.expression) &&
      ts.isStringLiteralLike(n.argumentExpression) &&
      n.argumentExpression.text === 'env'
    )
      at(n);
    else if (
      ts.isVariableDeclaration(n) &&
      ts.isObjectBindingPattern(n.name) &&
      n.initializer &&
      isProcess(n.initializer) &&
      n.name.elements.some((e) => (e.propertyName ?? e.name).getText(sf) === 'env')
    )
      at(n);
  });
  return lines;
}

/** Every module a file imports, re-exports, requires or imports dynamically. */
function imports(sf: ts.SourceFile): string[] {
  const out: string[] = [];
  walk(sf, (n) => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier)
      out.push((n.moduleSpecifier as ts.StringLiteral).text);
    else if (
      ts.isImportEqualsDeclaration(n) &&
      ts.isExternalModuleReference(n.moduleReference) &&
      ts.isStringLiteralLike(n.moduleReference.expression)
    )
      out.push(n.moduleReference.expression.text);
    else if (
      ts.isCallExpression(n) &&
      (n.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(n.expression) && n.expression.text === 'require') ||
        (ts.isPropertyAccessExpression(n.expression) && n.expression.getText(sf) === 'require.resolve')) &&
      n.arguments[0] &&
      ts.isStringLiteralLike(n.arguments[0])
    )
      out.push(n.arguments[0].text);
  });
  return out;
}

test('the scan sees the production folders and every process root', () => {
  expect(productionFolders()).toEqual(expect.arrayContaining(['api', 'workers', 'activities', 'workflows']));
  expect(productionFolders()).toEqual(expect.arrayContaining(['db', 'security', 'domain', 'cli', 'config']));
  expect(files).toEqual(expect.arrayContaining(ROOTS));
});

test('only the process roots read process.env', () => {
  const offenders = files
    .filter((f) => !ROOTS.includes(f))
    .flatMap((f) => envReads(parse(f)).map((line) => `${f}:${line}`));
  expect(offenders).toEqual([]);
});

test('each process root reads process.env once (its one parse)', () => {
  const counts = Object.fromEntries(ROOTS.map((f) => [f, envReads(parse(f)).length]));
  expect(counts).toEqual(Object.fromEntries(ROOTS.map((f) => [f, 1])));
});

test('env shapes are parsed only in config/ (one module of shapes)', () => {
  const offenders = files.filter(
    (f) =>
      !f.startsWith(`config${path.sep}`) &&
      (() => {
        let uses = false;
        walk(parse(f), (n) => {
          if (ts.isIdentifier(n) && n.text === 'parseEnv') uses = true;
        });
        return uses;
      })(),
  );
  expect(offenders).toEqual([]);
});

test('no production file imports from scripts/', () => {
  const scripts = path.join(ROOT, 'scripts');
  const offenders = files.flatMap((f) =>
    imports(parse(f))
      .filter((spec) => spec.startsWith('.'))
      .filter((spec) => {
        const target = path.resolve(ROOT, path.dirname(f), spec);
        return target === scripts || target.startsWith(`${scripts}${path.sep}`);
      })
      .map((spec) => `${f} -> ${spec}`),
  );
  expect(offenders).toEqual([]);
});
