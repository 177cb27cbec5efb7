/** GET /openapi.json documents every route the app serves (API.md: implementer's choices live there). */
import { listRoutes } from '../../api/route-list';
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
