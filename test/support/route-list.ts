/** Lists every route of the Express app (the route matrix test and the OpenAPI coverage test use it). */
import type { Express } from 'express';

interface Layer {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: unknown;
}

/** Walks the Express 5 router tree: route layers give method + path, router layers a mount prefix. */
export function listRoutes(app: Express): Array<{ method: string; path: string }> {
  const out: Array<{ method: string; path: string }> = [];
  const walk = (layers: Layer[], prefix: string) => {
    for (const l of layers) {
      if (l.route) {
        if (typeof l.route.path !== 'string') throw new Error(`non-string route path under ${prefix}`);
        const p = `${prefix}${l.route.path === '/' ? '' : l.route.path}` || '/';
        for (const m of Object.keys(l.route.methods))
          if (m !== '_all') out.push({ method: m.toUpperCase(), path: p });
      } else if (l.handle?.stack) {
        if (typeof l.rawPath !== 'string') throw new Error(`non-string mount path under ${prefix}`);
        walk(l.handle.stack, `${prefix}${l.rawPath === '/' ? '' : l.rawPath}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return out;
}
