/**
 * A local Braintree gateway emulator for integration tests: a Node http server (port 0) that speaks the
 * wire format of the official `braintree` SDK for exactly the calls the adapter makes. Requests are JSON
 * (the SDK converts keys to snake_case), responses are XML (see xml.ts), authentication is HTTP Basic
 * with the configured public/private key, and every path is under /merchants/<merchantId>/.
 *
 *   POST /transactions                                  sale
 *   GET  /transactions/:id                              find
 *   POST /transactions/advanced_search_ids              search, step 1 (ids)
 *   POST /transactions/advanced_search                  search, step 2 (transactions for ids)
 *                                                       (created_at / settled_at ranges: search.ts)
 *   PUT  /transactions/:id/submit_for_settlement        full capture
 *   POST /transactions/:id/submit_for_partial_settlement partial capture (child transaction)
 *   PUT  /transactions/:id/void                         void
 *   POST /transactions/:id/refund                       refund (credit transaction)
 *   PUT  /transactions/:id/settle                       testing gateway: settle now
 *   /disputes/..., /document_uploads                    disputes.ts
 *
 * State rules and sandbox triggers live in model.ts. Faults for tests:
 *   failNext(n, status)   the next n requests answer `status` (default 500) with no effect
 *   loseNextResponse(m)   the next request matching m takes effect, but its response is withheld
 *                         until the client gives up and closes the connection (timeout after effect)
 * The request log keeps method and path only: bodies carry card data.
 */
import http from 'node:http';
import { TransactionStore, formatWireAmount, type EmulatedTransaction, type Outcome } from './model';
import { apiErrorXml, document, searchIdsXml, searchPageXml, transactionXml } from './xml';
import { searchTransactions } from './search';
import { createEmulatedDisputes, type EmulatedDisputes } from './disputes';

export interface BraintreeEmulatorOptions {
  merchantId: string;
  publicKey: string;
  privateKey: string;
  /** merchant account id -> currency; the first is the default account. Default: one USD account. */
  merchantAccounts?: Record<string, string>;
  /** Settle submitted transactions at once (default true). See model.ts. */
  settleOnSubmit?: boolean;
}

export type RequestMatcher = (method: string, path: string) => boolean;

export interface BraintreeEmulator {
  port: number;
  store: TransactionStore;
  /** Disputes on its transactions, and the signed notifications announcing them (disputes.ts). */
  disputes: EmulatedDisputes;
  /** Method and merchant-relative path of every request (no bodies). */
  readonly requests: Array<{ method: string; path: string }>;
  failNext(count: number, status?: number): void;
  loseNextResponse(match?: RequestMatcher): void;
  /** Sales (not credits, not partial settlements) carrying this orderId. */
  salesFor(orderId: string): EmulatedTransaction[];
  reset(): void;
  stop(): Promise<void>;
}

const PAGE_SIZE = 50;

export const isSale: RequestMatcher = (m, p) => m === 'POST' && p === '/transactions';

export async function startBraintreeGateway(opts: BraintreeEmulatorOptions): Promise<BraintreeEmulator> {
  const accounts = opts.merchantAccounts ?? { usd_account: 'USD' };
  const defaultAccount = Object.keys(accounts)[0];
  if (!defaultAccount) throw new Error('emulator: at least one merchant account');
  const store = new TransactionStore(accounts, defaultAccount, opts.settleOnSubmit ?? true);
  const expectedAuth = `Basic ${Buffer.from(`${opts.publicKey}:${opts.privateKey}`).toString('base64')}`;
  const prefix = `/merchants/${opts.merchantId}`;
  const disputes = createEmulatedDisputes(store, opts);

  const requests: Array<{ method: string; path: string }> = [];
  let failures = { count: 0, status: 500 };
  const lose: RequestMatcher[] = [];

  function route(
    method: string,
    path: string,
    body: Record<string, unknown>,
  ): { status: number; xml?: string } {
    const txnBody = (body.transaction ?? {}) as Record<string, unknown>;
    const reply = (outcome: Outcome | undefined, okStatus = 200) => {
      if (!outcome) return { status: 404 };
      if (outcome.ok) return { status: okStatus, xml: transactionXml(outcome.txn, formatWireAmount) };
      return {
        status: 422,
        xml: apiErrorXml({
          message: outcome.message,
          errors: outcome.errors,
          // A declined/failed sale comes back inside the error response; validation errors do not.
          transaction:
            !outcome.errors && outcome.txn ? transactionXml(outcome.txn, formatWireAmount) : undefined,
        }),
      };
    };

    if (method === 'POST' && path === '/transactions') {
      if (txnBody.type !== 'sale')
        return {
          status: 422,
          xml: apiErrorXml({
            message: 'Type is invalid.',
            errors: [{ code: '91523', attribute: 'type', message: 'Type is invalid.' }],
          }),
        };
      return reply(store.sale(txnBody), 201);
    }
    if (
      method === 'POST' &&
      (path === '/transactions/advanced_search_ids' || path === '/transactions/advanced_search')
    ) {
      const found = searchTransactions(store, (body.search ?? {}) as Record<string, unknown>);
      if (!Array.isArray(found)) {
        return {
          status: 422,
          xml: apiErrorXml({ message: `Unsupported search criterion ${found.unsupported}` }),
        };
      }
      if (path.endsWith('_ids'))
        return {
          status: 200,
          xml: searchIdsXml(
            found.map((t) => t.id),
            PAGE_SIZE,
          ),
        };
      return {
        status: 200,
        xml: searchPageXml(
          found.map((t) => transactionXml(t, formatWireAmount)),
          PAGE_SIZE,
        ),
      };
    }
    let m = /^\/transactions\/([a-z0-9]+)$/.exec(path);
    if (m && method === 'GET') {
      const t = store.get(m[1]!);
      return t ? { status: 200, xml: transactionXml(t, formatWireAmount) } : { status: 404 };
    }
    m = /^\/transactions\/([a-z0-9]+)\/([a-z_]+)$/.exec(path);
    if (m) {
      const [, id, action] = m as unknown as [string, string, string];
      if (method === 'PUT' && action === 'submit_for_settlement')
        return reply(store.submitForSettlement(id, txnBody));
      if (method === 'POST' && action === 'submit_for_partial_settlement')
        return reply(store.submitForPartialSettlement(id, txnBody), 201);
      if (method === 'PUT' && action === 'void') return reply(store.void(id));
      if (method === 'POST' && action === 'refund') return reply(store.refund(id, txnBody), 201);
      if (method === 'PUT' && action === 'settle') return reply(store.settle(id));
    }
    return { status: 404 };
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = req.method ?? 'GET';
      const fullPath = (req.url ?? '/').split('?')[0] ?? '/';
      const path = fullPath.startsWith(prefix) ? fullPath.slice(prefix.length) : fullPath;
      requests.push({ method, path });

      if (req.headers.authorization !== expectedAuth) {
        res.writeHead(401).end();
        return;
      }
      if (!fullPath.startsWith(`${prefix}/`)) {
        res.writeHead(404).end();
        return;
      }
      if (failures.count > 0) {
        failures.count -= 1;
        res.writeHead(failures.status).end();
        return;
      }

      let body: Record<string, unknown> = {};
      const raw = Buffer.concat(chunks).toString('utf8');
      // Disputes and document uploads (multipart) first: disputes.ts reads the raw body itself.
      const own = disputes.route(method, path, Buffer.concat(chunks), req.headers['content-type'] ?? '');
      if (!own && raw.trim()) {
        try {
          body = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          res.writeHead(400).end();
          return;
        }
      }
      const { status, xml } = own ?? route(method, path, body);

      const loseIdx = lose.findIndex((match) => match(method, path));
      if (loseIdx >= 0) {
        // The effect above has happened; the answer never comes. The client times out and closes.
        lose.splice(loseIdx, 1);
        return;
      }
      if (xml === undefined) {
        res.writeHead(status).end();
        return;
      }
      const out = Buffer.from(document(xml), 'utf8');
      res.writeHead(status, {
        'Content-Type': 'application/xml; charset=utf-8',
        'Content-Length': String(out.length),
      });
      res.end(out);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;

  return {
    port,
    store,
    disputes,
    requests,
    failNext(count, status = 500) {
      failures = { count, status };
    },
    loseNextResponse(match = () => true) {
      lose.push(match);
    },
    salesFor(orderId) {
      return [...store.transactions.values()].filter(
        (t) => t.type === 'sale' && !t.authorizedTransactionId && t.orderId === orderId,
      );
    },
    reset() {
      failures = { count: 0, status: 500 };
      lose.length = 0;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
