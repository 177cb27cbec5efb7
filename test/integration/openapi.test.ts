/** GET /openapi.json documents every route the app serves (API.md: implementer's choices live there). */
import { listRoutes } from '../support/route-list';
import { startStack, type Stack } from '../support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ workers: false });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

test('every route is in the OpenAPI document, with its method', async () => {
  const res = await stack.http.get('/openapi.json');
  expect(res.status).toBe(200);
  const paths = res.body.paths as Record<string, Record<string, unknown>>;
  const missing = listRoutes(stack.app)
    .map((r) => ({ method: r.method.toLowerCase(), path: r.path.replace(/:([A-Za-z]+)/g, '{$1}') }))
    .filter((r) => r.path !== '/openapi.json' && !paths[r.path]?.[r.method])
    .map((r) => `${r.method.toUpperCase()} ${r.path}`);
  expect(missing).toEqual([]);
});

test('the document is OpenAPI 3.1 with bearer auth and the contract error shape', async () => {
  const res = await stack.http.get('/openapi.json');
  expect(res.body.openapi).toBe('3.1.0');
  expect(res.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  expect(res.body.components.schemas.Error.properties.error.required).toEqual([
    'type',
    'code',
    'message',
    'requestId',
  ]);
});

test('no amount anywhere in the document is a float: money is an integer in the minor unit', async () => {
  const res = await stack.http.get('/openapi.json');
  const floats: string[] = [];
  const walk = (node: unknown, at: string): void => {
    if (Array.isArray(node)) return node.forEach((v, i) => walk(v, `${at}/${i}`));
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      const s = v as { type?: unknown };
      if (/^amount/i.test(k) && s && typeof s === 'object' && s.type === 'number') floats.push(`${at}/${k}`);
      walk(v, `${at}/${k}`);
    }
  };
  walk(res.body, '#');
  expect(floats).toEqual([]);
});

test('every /v1 operation but the credential exchanges needs the bearer token; those declare none', async () => {
  const res = await stack.http.get('/openapi.json');
  const wrong: string[] = [];
  for (const [path, ops] of Object.entries(
    res.body.paths as Record<string, Record<string, { security?: unknown[] }>>,
  ))
    for (const [method, op] of Object.entries(ops)) {
      const isPublic = Array.isArray(op.security) && op.security.length === 0;
      const shouldBePublic =
        !path.startsWith('/v1/') || ['/v1/auth/token', '/v1/auth/login', '/v1/auth/mfa'].includes(path);
      if (isPublic !== shouldBePublic) wrong.push(`${method.toUpperCase()} ${path}`);
    }
  expect(wrong).toEqual([]);
});
