/**
 * A localstripe proxy extension (test/support/localstripe.ts `extensions`): disputes, which
 * localstripe lacks entirely, with Stripe's test-mode semantics and its idempotency.
 *
 *   POST /v1/files                 multipart upload (purpose dispute_evidence); kept: size and type
 *   GET  /v1/disputes/:id          the dispute
 *   POST /v1/disputes/:id          evidence[...] (+ submit=true: `under_review`, then decided as
 *                                  Stripe test mode does: uncategorized_text `winning_evidence` ->
 *                                  won, `losing_evidence` -> lost, anything else stays under review);
 *                                  only while it needs a response, else 400
 *   POST /v1/disputes/:id/close    concede: `lost`; only while it needs a response, else 400
 *
 * Unlike localstripe, writes honour Idempotency-Key as Stripe does: a key seen before replays the first
 * answer and changes nothing (the same key with other parameters is a 400 idempotency_error), so a
 * test can prove a repeated submission is applied once. `updates` counts the writes that took effect.
 *
 * Test helpers: `open(charge)` disputes a charge and returns the signed `charge.dispute.created`
 * webhook (body + Stripe-Signature header, made with the SDK's own test-header helper);
 * `event(type, id)` signs a `charge.dispute.updated` / `charge.dispute.closed` for its current state.
 */
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import type { StripeProxyExtension } from './localstripe';

export interface EmulatedStripeDispute {
  id: string;
  object: 'dispute';
  amount: number;
  currency: string;
  charge: string;
  payment_intent: string | null;
  reason: string;
  status: string;
  created: number;
  evidence: Record<string, string | null>;
  evidence_details: { due_by: number; has_evidence: boolean; past_due: boolean; submission_count: number };
  metadata: Record<string, string>;
  livemode: false;
  is_charge_refundable: boolean;
  balance_transactions: never[];
}

const rid = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;

function send(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  const out = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Request-Id': rid('req') });
  res.end(out);
}

const stripeError = (type: string, code: string, message: string) => ({ error: { type, code, message } });

function readBody(req: import('node:http').IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The multipart parts of a files.create body: form fields and the file's name, type and size. */
function multipartFields(
  body: Buffer,
  contentType: string,
): Record<string, { value?: string; size?: number; filename?: string; type?: string }> {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1];
  const out: Record<string, { value?: string; size?: number; filename?: string; type?: string }> = {};
  if (!boundary) return out;
  for (const raw of body.toString('latin1').split(`--${boundary}`)) {
    const split = raw.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const head = raw.slice(0, split);
    const content = raw.slice(split + 4).replace(/\r\n$/, '');
    const name = /name="([^"]+)"/.exec(head)?.[1];
    if (!name) continue;
    const filename = /filename="([^"]*)"/.exec(head)?.[1];
    out[name] = filename
      ? {
          filename,
          size: Buffer.byteLength(content, 'latin1'),
          type: /Content-Type: ([^\r\n]+)/i.exec(head)?.[1],
        }
      : { value: content };
  }
  return out;
}

export function createStripeDisputes(opts: { webhookSecret: string }) {
  const disputes = new Map<string, EmulatedStripeDispute>();
  const files = new Map<string, { id: string; purpose: string; size: number; type: string | undefined }>();
  const replay = new Map<string, { fingerprint: string; status: number; body: unknown }>();
  /** Writes that took effect, per dispute (a replayed key is not one). */
  const updates = new Map<string, number>();

  const bump = (id: string) => updates.set(id, (updates.get(id) ?? 0) + 1);

  function evidenceUpdate(
    d: EmulatedStripeDispute,
    form: URLSearchParams,
  ): { status: number; body: unknown } {
    if (d.status !== 'needs_response' && d.status !== 'warning_needs_response')
      return {
        status: 400,
        body: stripeError(
          'invalid_request_error',
          'dispute_already_submitted',
          'This dispute is no longer accepting evidence.',
        ),
      };
    for (const [k, v] of form) {
      const field = /^evidence\[([a-z_]+)\]$/.exec(k)?.[1];
      if (field) {
        if (
          field.endsWith('_file') ||
          [
            'receipt',
            'customer_communication',
            'service_documentation',
            'shipping_documentation',
            'refund_policy',
            'cancellation_policy',
            'duplicate_charge_documentation',
            'customer_signature',
          ].includes(field)
        ) {
          if (!files.has(v))
            return {
              status: 400,
              body: stripeError('invalid_request_error', 'resource_missing', `No such file upload: '${v}'`),
            };
        }
        d.evidence[field] = v;
      }
      const meta = /^metadata\[([a-z_]+)\]$/.exec(k)?.[1];
      if (meta) d.metadata[meta] = v;
    }
    d.evidence_details.has_evidence = true;
    bump(d.id);
    if (form.get('submit') === 'true') {
      d.status = 'under_review';
      d.evidence_details.submission_count += 1;
      const answer = { status: 200, body: structuredClone(d) };
      // Stripe test mode decides right after the submission; the answer above still says under review.
      const text = d.evidence.uncategorized_text;
      if (text === 'winning_evidence') d.status = 'won';
      if (text === 'losing_evidence') d.status = 'lost';
      return answer;
    }
    return { status: 200, body: structuredClone(d) };
  }

  function close(d: EmulatedStripeDispute): { status: number; body: unknown } {
    if (d.status !== 'needs_response' && d.status !== 'warning_needs_response')
      return {
        status: 400,
        body: stripeError(
          'invalid_request_error',
          'dispute_already_closed',
          'This dispute is already closed.',
        ),
      };
    d.status = 'lost';
    bump(d.id);
    return { status: 200, body: structuredClone(d) };
  }

  /** One write, replayed by its Idempotency-Key as Stripe does. */
  function idempotent(
    key: string | undefined,
    fingerprint: string,
    run: () => { status: number; body: unknown },
  ) {
    if (key) {
      const prior = replay.get(key);
      if (prior) {
        if (prior.fingerprint !== fingerprint)
          return {
            status: 400,
            body: stripeError(
              'idempotency_error',
              'idempotency_key_in_use',
              'Keys for idempotent requests can only be used with the same parameters they were first used with.',
            ),
          };
        return prior;
      }
    }
    const out = run();
    if (key) replay.set(key, { fingerprint, ...out });
    return out;
  }

  const handle: StripeProxyExtension = (req, res, url) => {
    const method = req.method ?? 'GET';
    const isFiles = method === 'POST' && url.pathname === '/v1/files';
    const m = /^\/v1\/disputes\/(dp_[A-Za-z0-9]+)(\/close)?$/.exec(url.pathname);
    if (!isFiles && !m) return false;
    const key =
      typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : undefined;
    void readBody(req).then((body) => {
      if (isFiles) {
        const fields = multipartFields(body, req.headers['content-type'] ?? '');
        const out = idempotent(key, `files:${fields.file?.size ?? 0}:${fields.purpose?.value ?? ''}`, () => {
          if (fields.purpose?.value !== 'dispute_evidence' || !fields.file?.filename)
            return {
              status: 400,
              body: stripeError('invalid_request_error', 'parameter_invalid', 'Invalid file upload.'),
            };
          const f = {
            id: rid('file'),
            purpose: 'dispute_evidence',
            size: fields.file.size ?? 0,
            type: fields.file.type,
          };
          files.set(f.id, f);
          return {
            status: 200,
            body: {
              ...f,
              object: 'file',
              created: Math.floor(Date.now() / 1000),
              filename: fields.file.filename,
            },
          };
        });
        send(res, out.status, out.body);
        return;
      }
      const d = disputes.get(m![1]!);
      if (!d) {
        send(
          res,
          404,
          stripeError('invalid_request_error', 'resource_missing', `No such dispute: '${m![1]}'`),
        );
        return;
      }
      if (method === 'GET' && !m![2]) {
        send(res, 200, d);
        return;
      }
      if (method !== 'POST') {
        send(res, 404, stripeError('invalid_request_error', 'resource_missing', 'Unrecognized request URL'));
        return;
      }
      const form = new URLSearchParams(body.toString('utf8'));
      const out = idempotent(key, `${url.pathname}:${form.toString()}`, () =>
        m![2] ? close(d) : evidenceUpdate(d, form),
      );
      send(res, out.status, out.body);
    });
    return true;
  };

  function signed(type: string, d: EmulatedStripeDispute): { body: string; header: string } {
    const created = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({
      id: rid('evt'),
      object: 'event',
      api_version: '2020-08-27',
      created,
      livemode: false,
      type,
      data: { object: d },
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
    });
    return {
      body,
      header: Stripe.webhooks.generateTestHeaderString({
        payload: body,
        secret: opts.webhookSecret,
        timestamp: created,
      }),
    };
  }

  return {
    handle,
    disputes,
    files,
    /** Writes that changed this dispute (evidence updates, close); replays are not counted. */
    updates: (id: string) => updates.get(id) ?? 0,
    /** Dispute a charge (amount and currency of the charge); evidence due in 7 days. */
    open(
      charge: { id: string; amount: number; currency: string; payment_intent?: string | null },
      o: { reason?: string; now?: Date } = {},
    ): { dispute: EmulatedStripeDispute; webhook: { body: string; header: string } } {
      const created = Math.floor((o.now ?? new Date()).getTime() / 1000);
      const d: EmulatedStripeDispute = {
        id: rid('dp'),
        object: 'dispute',
        amount: charge.amount,
        currency: charge.currency,
        charge: charge.id,
        payment_intent: charge.payment_intent ?? null,
        reason: o.reason ?? 'fraudulent',
        status: 'needs_response',
        created,
        evidence: {},
        evidence_details: {
          due_by: created + 7 * 86_400,
          has_evidence: false,
          past_due: false,
          submission_count: 0,
        },
        metadata: {},
        livemode: false,
        is_charge_refundable: false,
        balance_transactions: [],
      };
      disputes.set(d.id, d);
      return { dispute: d, webhook: signed('charge.dispute.created', d) };
    },
    /** The signed event for the dispute as it stands now. */
    event(type: 'charge.dispute.updated' | 'charge.dispute.closed' | 'charge.dispute.created', id: string) {
      const d = disputes.get(id);
      if (!d) throw new Error(`no dispute ${id}`);
      return signed(type, d);
    },
  };
}
export type StripeDisputes = ReturnType<typeof createStripeDisputes>;
