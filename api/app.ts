/** createApp(deps) builds the Express app without listening (server.ts is the composition root). */
import './express-augment';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Client } from '@temporalio/client';
import type { AuditLog } from '../db/audit-repo';
import type { ClientsRepo } from '../db/clients-repo';
import type { OperatorsRepo } from '../db/operators-repo';
import { systemClock, type Clock } from '../security/clock';
import type { IdempotencyRepo } from '../db/idempotency-repo';
import type { Pool } from '../db/pool';
import type { Logger } from '../security/logger';
import type { TokenService } from '../security/tokens';
import type { Vault } from '../vault/vault';
import { idempotency } from './middleware/idempotency';
import { auditedRead, auditTrail } from './middleware/audit';
import { bodyGate, requestGate, requireUtf8Body } from './middleware/input-gate';
import { createRouter } from './router';
import {
  authRateLimit,
  clientRateLimit,
  DEFAULT_RATE_LIMITS,
  type RateLimitConfig,
} from './middleware/rate-limit';
import { clientAdminRoutes, operatorAdminRoutes, signingKeyRoutes } from './routes/admin';
import { auditRoutes } from './routes/audit';
import { ledgerRoutes } from './routes/ledger';
import { reconciliationRoutes } from './routes/reconciliation';
import type { ReconciliationService } from './reconciliation-service';
import { createLedgerRepo } from '../db/ledger-repo';
import { authenticate, errorHandler, notFoundHandler, requestId } from './middleware/common';
import { openApiDocument } from './openapi';
import type { PaymentsService } from './payments-service';
import { parseAllowlist, requireAccess } from './rbac';
import { authRoutes, logoutRoute } from './routes/auth';
import { healthRoutes } from './routes/health';
import { paymentRoutes } from './routes/payments';
import { bankAccountRoutes } from './routes/bank-accounts';
import type { BankAccountsService } from './bank-accounts-service';
import type { DisputesService } from './disputes-service';
import { disputeRoutes, EVIDENCE_BODY_LIMIT } from './routes/disputes';
import { vaultRoutes } from './routes/vault';
import { providerWebhookRoutes } from './routes/webhooks';
import { webhookEndpointRoutes } from './routes/webhook-endpoints';
import { eventRoutes } from './routes/events';
import { wakeEndpointWorkflow } from './webhook-dispatcher';
import type { WebhooksRepo } from '../db/webhooks-repo';
import type { UrlPolicy } from '../security/url-guard';
import type { WebhookVerifier } from '../workers/providers';
import type { ProviderName } from '../domain/providers';

export interface AppDeps {
  pool: Pool;
  temporal?: Client | undefined;
  tokens: TokenService;
  clients: ClientsRepo;
  vault: Vault;
  payments: PaymentsService;
  /** Bank accounts (API.md bank-account routes); the routes are mounted only when given. */
  bankAccounts?: BankAccountsService | undefined;
  /** Disputes (API.md "Disputes"); the routes are mounted, and dispute webhooks routed, only when given. */
  disputes?: DisputesService | undefined;
  /** Reconciliation runs (API.md "Ledger and reconciliation"); the routes are mounted only when given. */
  reconciliation?: ReconciliationService | undefined;
  /** Webhooks in (providers) and out (merchant endpoints); the routes are mounted only when given. */
  webhooks?:
    | {
        repo: WebhooksRepo;
        verifiers: Map<ProviderName, WebhookVerifier>;
        webhookKey?: Buffer | undefined;
        /** SSRF guard for merchant endpoint URLs (security/url-guard.ts); default strict. */
        urlPolicy?: UrlPolicy | undefined;
      }
    | undefined;
  idempotency: IdempotencyRepo;
  /** 32-byte server key: request hashes are HMACs and stored responses are sealed under keys derived from it. */
  idempotencySecret: Buffer;
  logger: Logger;
  config: { adminAllowlist: string; trustProxy: string; legalEntity: string };
  /** Audit trail (PCI DSS 10): every mutating request and every auth failure is appended. */
  audit: AuditLog;
  operators: OperatorsRepo;
  /** SETTLE_TOTP_KEY (32 bytes); operator login is disabled without it. */
  totpKey?: Buffer | undefined;
  /** Time source for lockout and idle timeout (tests pass a manual clock). */
  clock?: Clock | undefined;
  rateLimits?: RateLimitConfig | undefined;
}

function trustProxySetting(v: string): boolean | number | string {
  if (v === 'false' || v === '') return false;
  if (v === 'true') return true;
  return /^\d+$/.test(v) ? Number(v) : v;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Case-sensitive and strict like every router (api/router.ts): one spelling per route.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.set('trust proxy', trustProxySetting(deps.config.trustProxy));
  app.use(requestId);
  app.use(auditTrail({ audit: deps.audit, logger: deps.logger }));
  app.use(requestGate);
  app.use(helmet({ hsts: { maxAge: 31_536_000, includeSubDomains: true } }));
  // Provider webhooks need the RAW body to verify signatures: mounted before the JSON parser.
  if (deps.webhooks) {
    app.use(
      '/webhooks',
      providerWebhookRoutes({
        verifiers: deps.webhooks.verifiers,
        webhooks: deps.webhooks.repo,
        temporal: deps.temporal,
        bankAccounts: deps.bankAccounts,
        disputes: deps.disputes,
        logger: deps.logger,
      }),
    );
  }
  // Dispute evidence carries files (base64): its own, larger limit; every other body stays at 64 kB
  // (the parser below skips a body already parsed).
  if (deps.disputes) {
    const evidenceJson = express.json({ limit: EVIDENCE_BODY_LIMIT, strict: true, verify: requireUtf8Body });
    app.use('/v1/disputes', (req, res, next) => {
      if (req.method === 'POST' && /^\/[^/]+\/evidence$/.test(req.path)) evidenceJson(req, res, next);
      else next();
    });
  }
  app.use(express.json({ limit: '64kb', strict: true, verify: requireUtf8Body }));
  app.use(bodyGate);

  app.use(healthRoutes({ pool: deps.pool, temporal: deps.temporal }));
  const doc = openApiDocument();
  app.get('/openapi.json', (_req, res) => {
    res.json(doc);
  });
  app.get('/.well-known/jwks.json', (_req, res) => {
    res.json(deps.tokens.jwks());
  });

  const clock = deps.clock ?? systemClock;
  const operatorAuth = { operators: deps.operators, totpKey: deps.totpKey, clock };
  const limits = deps.rateLimits ?? DEFAULT_RATE_LIMITS;
  app.use(
    '/v1/auth',
    authRateLimit(limits),
    authRoutes({ clients: deps.clients, tokens: deps.tokens, operatorAuth }),
  );

  const allowlist = parseAllowlist(deps.config.adminAllowlist);
  const v1 = createRouter();
  v1.use(
    authenticate(
      deps.tokens,
      { touch: (sid, sub) => deps.operators.touchSession(sid, sub, clock.now()) },
      deps.clients,
    ),
    clientRateLimit(limits),
  );
  v1.use('/auth', logoutRoute({ operatorAuth }));
  const idem = idempotency(deps.idempotency, deps.idempotencySecret);
  const business = [requireAccess('business', allowlist), idem];
  v1.use(
    '/vault',
    auditedRead,
    ...business,
    vaultRoutes({ vault: deps.vault, legalEntity: deps.config.legalEntity }),
  );
  v1.use('/payments', ...business, paymentRoutes({ payments: deps.payments }));
  if (deps.bankAccounts)
    v1.use('/bank-accounts', ...business, bankAccountRoutes({ bankAccounts: deps.bankAccounts }));
  if (deps.disputes) v1.use('/disputes', ...business, disputeRoutes({ disputes: deps.disputes }));
  if (deps.webhooks) {
    v1.use(
      '/webhook-endpoints',
      ...business,
      webhookEndpointRoutes({
        webhooks: deps.webhooks.repo,
        webhookKey: deps.webhooks.webhookKey,
        urlPolicy: deps.webhooks.urlPolicy,
        wake: deps.temporal && ((id) => wakeEndpointWorkflow(deps.temporal!, id)),
      }),
    );
    v1.use('/events', ...business, eventRoutes({ webhooks: deps.webhooks.repo }));
  }
  v1.use(
    '/ledger',
    requireAccess('ledger', allowlist),
    ledgerRoutes({ ledger: createLedgerRepo(deps.pool) }),
  );
  v1.use('/audit-events', auditedRead, requireAccess('audit', allowlist), auditRoutes({ audit: deps.audit }));
  if (deps.reconciliation)
    v1.use(
      '/reconciliation',
      requireAccess('reconciliation', allowlist),
      idem,
      reconciliationRoutes({ reconciliation: deps.reconciliation }),
    );
  const admin = [requireAccess('admin', allowlist), idem];
  v1.use('/clients', ...admin, clientAdminRoutes({ clients: deps.clients, clock }));
  v1.use('/operators', ...admin, operatorAdminRoutes({ operators: deps.operators, clock }));
  v1.use('/signing-keys', ...admin, signingKeyRoutes({ tokens: deps.tokens }));
  app.use('/v1', v1);

  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
