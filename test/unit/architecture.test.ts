/**
 * The import graph of the production code, read with the TypeScript parser: arrows point down the
 * layers, no file takes part in an import cycle, workflow code pulls only types from the I/O layers,
 * and nothing ships that imports from test/.
 *
 * Layers, lowest first (a file may import its own layer and any layer below it):
 *
 *   0 domain/      vocabulary: types and pure rules (Luhn, money, payment state machine, roles).
 *                  Imports nothing of ours.
 *   1 security/    primitives: envelope crypto, key providers (local, KMS), purpose keys, tokens,
 *                  passwords, TOTP, audit hashing, clock, redaction, logger, URL guard, payload codec.
 *                  Never touches the database.
 *   1 observability/  metrics and traces: primitives beside security/, never the database.
 *   2 config/      the zod shapes of the environment (parsed once in each process root) and
 *                  readiness signalling; may validate with security/ (e.g. token key PEMs).
 *   3 db/          repositories and migrations; may use audit hashing and the clock from security/.
 *   4 vault/       secrets kept through repositories: card vault, key hierarchy and rotation,
 *                  payload keyring, CVC sweeper, bank secrets, and the factories that build them from
 *                  configuration. The arrow runs vault/ -> db/ -> security/, never back.
 *   5 activities/  Temporal activities and provider adapters.
 *   6 workflows/   workflow code: values from domain/ and workflows/ only (plus the Temporal workflow
 *                  packages), types from activities/ (and db/, security/, vault/ if ever needed).
 *   7 api/ workers/ cli/ scripts/ compliance/   process roots; they may import each other (no cycles),
 *                  except that scripts/ is dev tooling (npm start, tools): nothing else imports it.
 *
 * test/ and bench/ are not production code and are not scanned (they may import anything).
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { tsFilesIn } from '../support/sources';

const ROOT = path.resolve(__dirname, '../..');

const LAYERS: Record<string, number> = {
  domain: 0,
  security: 1,
  observability: 1,
  config: 2,
  db: 3,
  vault: 4,
  activities: 5,
  workflows: 6,
  api: 7,
  workers: 7,
  cli: 7,
  scripts: 7,
  compliance: 7,
};
const NOT_PRODUCTION = new Set(['test', 'bench', 'node_modules', 'dist', '.tools', '.data', '.git']);

/** Packages workflow code may import as values (they are safe inside the workflow sandbox). */
const WORKFLOW_SAFE_PACKAGES = new Set(['@temporalio/workflow', '@temporalio/common']);

/**
 * Known exceptions to the workflow value-import rule, each with the reason it is not a breach.
 * Keep this list short; a new entry needs the same kind of reason.
 */
const WORKFLOW_VALUE_IMPORT_EXCEPTIONS: Record<string, string> = {
  // The data converter is loaded by clients and workers, never by workflow code (not re-exported from
  // workflows/index.ts); it lives beside failure-converter.ts, which it loads by path.
  'workflows/data-converter.ts -> security/payload-codec.ts': 'codec runs outside the workflow sandbox',
};

/**
 * Known upward imports, each with why it is still there. The test below fails when one disappears, so
 * the list only shrinks.
 */
const KNOWN_UPWARD: Record<string, string> = {};

/** Known import cycles (files of one strongly connected component, sorted, joined by ' + '). */
const KNOWN_CYCLES: Record<string, string> = {};

interface Edge {
  from: string;
  /** Repository-relative path of the imported file, or the package name for a bare specifier. */
  to: string;
  local: boolean;
  typeOnly: boolean;
}

function productionFiles(): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(ROOT, { withFileTypes: true })) {
    if (NOT_PRODUCTION.has(e.name) || e.name.startsWith('.')) continue;
    if (e.isDirectory()) out.push(...tsFilesIn(e.name));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(e.name);
  }
  return out.sort();
}

function resolveLocal(from: string, spec: string): string {
  const base = path.resolve(ROOT, path.dirname(from), spec.replace(/\.js$/, ''));
  for (const candidate of [`${base}.ts`, base, path.join(base, 'index.ts')]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return path.relative(ROOT, candidate);
  }
  throw new Error(`${from}: cannot resolve import '${spec}'`);
}

const allTypeOnly = (elements: ts.NodeArray<ts.ImportSpecifier | ts.ExportSpecifier>) =>
  elements.length > 0 && elements.every((e) => e.isTypeOnly);

/** Every import, re-export, dynamic import(), require() and import('x').T of one file. */
function importsOf(file: string): Edge[] {
  const source = ts.createSourceFile(
    file,
    fs.readFileSync(path.join(ROOT, file), 'utf8'),
    ts.ScriptTarget.ES2022,
    true,
  );
  const edges: Edge[] = [];
  const add = (spec: string, typeOnly: boolean) => {
    const local = spec.startsWith('.');
    edges.push({ from: file, to: local ? resolveLocal(file, spec) : spec, local, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly =
        !!clause &&
        (clause.isTypeOnly ||
          (!clause.name &&
            !!clause.namedBindings &&
            ts.isNamedImports(clause.namedBindings) &&
            allTypeOnly(clause.namedBindings.elements)));
      add(node.moduleSpecifier.text, typeOnly);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      const typeOnly =
        node.isTypeOnly ||
        (!!node.exportClause &&
          ts.isNamedExports(node.exportClause) &&
          allTypeOnly(node.exportClause.elements));
      add(node.moduleSpecifier.text, typeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expr = node.moduleReference.expression;
      if (ts.isStringLiteral(expr)) add(expr.text, node.isTypeOnly);
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require')) &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      add(node.arguments[0].text, false);
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      add(node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

const topFolder = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '');
const layerOf = (file: string) => LAYERS[topFolder(file)];

/** Tarjan's strongly connected components; returns the components of more than one file. */
function cycles(nodes: string[], edges: Edge[]): string[][] {
  const next = new Map<string, string[]>(nodes.map((n) => [n, []]));
  for (const e of edges) if (e.local) next.get(e.from)?.push(e.to);
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      const selfImport = component.length === 1 && (next.get(v) ?? []).includes(v);
      if (component.length > 1 || selfImport) found.push(component.sort());
    }
  };
  for (const n of nodes) if (!index.has(n)) connect(n);
  return found;
}

const files = productionFiles();
const edges = files.flatMap(importsOf);
const localEdges = edges.filter((e) => e.local);
const show = (e: Edge) => `${e.from} -> ${e.to}${e.typeOnly ? ' (type)' : ''}`;

const allUpward = localEdges.filter((e) => (layerOf(e.to) ?? -1) > (layerOf(e.from) ?? Infinity));
const upward = allUpward.filter((e) => !(`${e.from} -> ${e.to}` in KNOWN_UPWARD));
const allCycles = cycles(files, localEdges);
const importCycles = allCycles.filter((c) => !(c.join(' + ') in KNOWN_CYCLES));
const workflowValueImports = edges.filter((e) => {
  if (topFolder(e.from) !== 'workflows' || e.typeOnly) return false;
  if (!e.local) return !WORKFLOW_SAFE_PACKAGES.has(e.to) && !e.to.startsWith('@temporalio/workflow/');
  if (['domain', 'workflows'].includes(topFolder(e.to))) return false;
  return !(`${e.from} -> ${e.to}` in WORKFLOW_VALUE_IMPORT_EXCEPTIONS);
});
const intoTest = localEdges.filter((e) => ['test', 'bench'].includes(topFolder(e.to)));
const intoScripts = localEdges.filter(
  (e) => topFolder(e.to) === 'scripts' && topFolder(e.from) !== 'scripts',
);

describe('architecture: the production import graph', () => {
  beforeAll(() => {
    console.log(
      `architecture: ${files.length} files, ${localEdges.length} local imports; ` +
        `${allUpward.length} upward (${upward.length} not known), ` +
        `${allCycles.length} cycles (${importCycles.length} not known), ` +
        `${workflowValueImports.length} workflow value imports from I/O layers, ${intoTest.length} into test/`,
    );
  });

  it('scans the whole production tree, and every file belongs to a layer', () => {
    expect(files).toEqual(
      expect.arrayContaining(['domain/money.ts', 'security/envelope.ts', 'vault/vault.ts']),
    );
    expect(files.filter((f) => layerOf(f) === undefined)).toEqual([]);
  });

  it('sees every kind of import (so the checks below cannot pass by not looking)', () => {
    expect(localEdges.length).toBeGreaterThan(300);
    expect(edges).toContainEqual(
      expect.objectContaining({ from: 'workflows/payment.ts', to: 'activities/index.ts', typeOnly: true }),
    );
    expect(edges).toContainEqual(
      expect.objectContaining({ from: 'vault/vault.ts', to: 'db/cards-repo.ts', typeOnly: false }),
    );
  });

  it('has no upward import: each file imports only its own layer or lower ones', () => {
    expect(upward.map(show)).toEqual([]);
  });

  it('has no import cycle between files (type-only imports included)', () => {
    expect(importCycles).toEqual([]);
  });

  it('keeps workflow code to types from activities/, db/, security/ and vault/', () => {
    expect(workflowValueImports.map(show)).toEqual([]);
  });

  it('lists only known exceptions that still exist (fixed ones must leave the lists)', () => {
    const present = new Set(edges.map((e) => `${e.from} -> ${e.to}`));
    const upwardNow = new Set(allUpward.map((e) => `${e.from} -> ${e.to}`));
    const cyclesNow = new Set(allCycles.map((c) => c.join(' + ')));
    expect({
      workflow: Object.keys(WORKFLOW_VALUE_IMPORT_EXCEPTIONS).filter((k) => !present.has(k)),
      upward: Object.keys(KNOWN_UPWARD).filter((k) => !upwardNow.has(k)),
      cycles: Object.keys(KNOWN_CYCLES).filter((k) => !cyclesNow.has(k)),
    }).toEqual({ workflow: [], upward: [], cycles: [] });
  });

  it('ships nothing that imports from test/ or bench/', () => {
    expect(intoTest.map(show)).toEqual([]);
  });

  it('keeps scripts/ as dev tooling: no other production folder imports it', () => {
    expect(intoScripts.map(show)).toEqual([]);
  });
});
