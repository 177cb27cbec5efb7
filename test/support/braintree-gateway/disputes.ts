/**
 * Disputes for the Braintree gateway emulator (index.ts asks `route` before its own routes), in the
 * SDK's wire format, for exactly the calls the adapter makes:
 *
 *   POST /document_uploads              documentUpload.create (multipart: file + document_upload[kind])
 *   GET  /disputes/:id                  dispute.find
 *   POST /disputes/:id/evidence         dispute.addTextEvidence / addFileEvidence (open only: 95701)
 *   PUT  /disputes/:id/finalize         dispute.finalize (open only: 95705) -> `disputed`
 *   PUT  /disputes/:id/accept           dispute.accept (open only: 95704) -> `accepted`
 *
 * Braintree's sandbox decides a finalized dispute by its text evidence: `compellingevidence` -> won,
 * `losingevidence` -> lost; here `decide(id)` applies that when the test says so (real Braintree
 * takes its time). Test helpers: `open(transactionId)` disputes a sale, `notification(kind, id)` is
 * the signed webhook form Braintree would POST (`bt_signature` / `bt_payload`, HMAC-SHA1 keyed with
 * SHA-1 of the private key, as the SDK's own webhookTesting.sampleNotification, but carrying this
 * dispute's real transaction, order id, amounts and dates instead of fixed sample values).
 * Documents keep their size and type only, never their content.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { formatWireAmount, type TransactionStore } from './model';
import { apiErrorXml, array, text } from './xml';

export interface EmulatedDispute {
  id: string;
  transactionId: string;
  orderId: string | undefined;
  amount: number;
  currency: string;
  reason: string;
  status: string;
  receivedDate: string;
  replyByDate: string;
  evidence: Array<{ id: string; comment?: string; documentId?: string; createdAt: Date }>;
  /** Calls that changed it (tests prove a repeated submission sends nothing twice). */
  finalized: number;
  accepted: number;
}

const day = (d: Date) => d.toISOString().slice(0, 10);
const newId = () => randomBytes(8).toString('hex');

function disputeXml(d: EmulatedDispute): string {
  const amount = formatWireAmount(d.amount, d.currency);
  const evidence = d.evidence
    .map(
      (e) =>
        '<evidence>' +
        text('id', e.id) +
        text('comment', e.comment ?? null) +
        text('url', e.documentId ? `https://example.invalid/documents/${e.documentId}` : null) +
        text('created-at', e.createdAt.toISOString(), 'datetime') +
        '</evidence>',
    )
    .join('');
  return (
    '<dispute>' +
    text('id', d.id) +
    text('amount', amount) +
    text('amount-disputed', amount) +
    text('currency-iso-code', d.currency) +
    text('kind', 'chargeback') +
    text('reason', d.reason) +
    text('status', d.status) +
    text('received-date', d.receivedDate, 'date') +
    text('reply-by-date', d.replyByDate, 'date') +
    (evidence ? `<evidence type="array">${evidence}</evidence>` : array('evidence', [])) +
    '<transaction>' +
    text('id', d.transactionId) +
    text('amount', amount) +
    text('order-id', d.orderId ?? null) +
    '</transaction>' +
    '</dispute>'
  );
}

const notOpen = (code: string, message: string) => ({
  status: 422,
  xml: apiErrorXml({ message, errors: [{ code, attribute: 'status', message }] }),
});

/** One multipart/form-data body -> its parts (name, filename, bytes). */
function multipart(
  body: Buffer,
  contentType: string,
): Array<{ name: string; filename?: string; data: Buffer }> {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1];
  if (!boundary) return [];
  const parts: Array<{ name: string; filename?: string; data: Buffer }> = [];
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length + 2;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    const part = body.subarray(start, next - 2);
    const split = part.indexOf('\r\n\r\n');
    if (split >= 0) {
      const head = part.subarray(0, split).toString('utf8');
      const name = /name="([^"]*)"/.exec(head)?.[1];
      const filename = /filename="([^"]*)"/.exec(head)?.[1];
      if (name) parts.push({ name, ...(filename ? { filename } : {}), data: part.subarray(split + 4) });
    }
    at = next;
  }
  return parts;
}

export function createEmulatedDisputes(
  store: TransactionStore,
  keys: { publicKey: string; privateKey: string },
) {
  const disputes = new Map<string, EmulatedDispute>();
  const documents = new Map<string, { id: string; kind: string; name: string; size: number }>();

  function route(
    method: string,
    path: string,
    raw: Buffer,
    contentType: string,
  ): { status: number; xml?: string } | undefined {
    if (method === 'POST' && path === '/document_uploads') {
      const parts = multipart(raw, contentType);
      const file = parts.find((p) => p.name === 'file' && p.filename);
      const kind = parts.find((p) => p.name === 'document_upload[kind]')?.data.toString('utf8');
      if (!file || kind !== 'evidence_document' || !/\.(pdf|png|jpe?g)$/.test(file.filename ?? ''))
        return notOpen('84903', 'Document upload is invalid.');
      const doc = { id: newId(), kind, name: file.filename ?? 'file', size: file.data.length };
      documents.set(doc.id, doc);
      return {
        status: 201,
        xml:
          '<document-upload>' +
          text('id', doc.id) +
          text('kind', doc.kind) +
          text('name', doc.name) +
          text('size', doc.size, 'integer') +
          '</document-upload>',
      };
    }
    const m = /^\/disputes\/([a-z0-9]+)(?:\/([a-z]+))?$/.exec(path);
    if (!m) return undefined;
    const d = disputes.get(m[1]!);
    if (!d) return { status: 404 };
    const action = m[2];
    if (method === 'GET' && !action) return { status: 200, xml: disputeXml(d) };
    if (method === 'POST' && action === 'evidence') {
      if (d.status !== 'open')
        return notOpen('95701', 'Evidence can only be attached to disputes that are in an Open state');
      let body: { evidence?: { comments?: unknown; document_upload_id?: unknown } } = {};
      try {
        body = JSON.parse(raw.toString('utf8')) as typeof body;
      } catch {
        return { status: 400 };
      }
      const comment = typeof body.evidence?.comments === 'string' ? body.evidence.comments : undefined;
      const documentId =
        typeof body.evidence?.document_upload_id === 'string' ? body.evidence.document_upload_id : undefined;
      if (documentId !== undefined && !documents.has(documentId))
        return notOpen('95703', 'A document upload must be attached');
      if (comment === undefined && documentId === undefined)
        return { status: 422, xml: apiErrorXml({ message: 'Evidence is empty' }) };
      const e = {
        id: newId(),
        ...(comment !== undefined ? { comment } : {}),
        ...(documentId ? { documentId } : {}),
        createdAt: new Date(),
      };
      d.evidence.push(e);
      return {
        status: 201,
        xml:
          '<evidence>' +
          text('id', e.id) +
          text('comment', e.comment ?? null) +
          text('created-at', e.createdAt.toISOString(), 'datetime') +
          '</evidence>',
      };
    }
    if (method === 'PUT' && action === 'finalize') {
      if (d.status !== 'open')
        return notOpen('95705', 'Disputes can only be finalized when they are in an Open state');
      d.status = 'disputed';
      d.finalized += 1;
      return { status: 200, xml: '<success type="boolean">true</success>' };
    }
    if (method === 'PUT' && action === 'accept') {
      if (d.status !== 'open')
        return notOpen('95704', 'Disputes can only be accepted when they are in an Open state');
      d.status = 'accepted';
      d.accepted += 1;
      return { status: 200, xml: '<success type="boolean">true</success>' };
    }
    return { status: 404 };
  }

  return {
    disputes,
    documents,
    route,
    /** A chargeback on a sale: the sale's amount, reason `fraud`, reply by 7 days from now. */
    open(transactionId: string, opts: { reason?: string; now?: Date } = {}): EmulatedDispute {
      const t = store.get(transactionId);
      if (!t) throw new Error(`emulator: no transaction ${transactionId}`);
      const now = opts.now ?? new Date();
      const d: EmulatedDispute = {
        id: newId(),
        transactionId: t.id,
        orderId: t.orderId,
        amount: t.amount,
        currency: t.currency,
        reason: opts.reason ?? 'fraud',
        status: 'open',
        receivedDate: day(now),
        replyByDate: day(new Date(now.getTime() + 7 * 86_400_000)),
        evidence: [],
        finalized: 0,
        accepted: 0,
      };
      disputes.set(d.id, d);
      return d;
    },
    /** Braintree's sandbox decision on a finalized dispute, by its text evidence. */
    decide(id: string): EmulatedDispute {
      const d = disputes.get(id);
      if (!d || d.status !== 'disputed') throw new Error(`emulator: dispute ${id} is not finalized`);
      const texts = d.evidence.map((e) => e.comment);
      if (texts.includes('compellingevidence')) d.status = 'won';
      else if (texts.includes('losingevidence')) d.status = 'lost';
      return d;
    },
    /** The signed notification Braintree would POST for this dispute now (form fields). */
    notification(
      kind: string,
      id: string,
      at: Date = new Date(),
    ): { bt_signature: string; bt_payload: string } {
      const d = disputes.get(id);
      if (!d) throw new Error(`emulator: no dispute ${id}`);
      const xml =
        '<notification>' +
        text('timestamp', at.toISOString(), 'datetime') +
        text('kind', kind) +
        `<subject>${disputeXml(d)}</subject>` +
        '</notification>';
      const payload = `${Buffer.from(xml).toString('base64')}\n`;
      const key = createHash('sha1').update(keys.privateKey).digest();
      const mac = createHmac('sha1', key).update(payload, 'binary').digest('hex');
      return { bt_signature: `${keys.publicKey}|${mac}`, bt_payload: payload };
    },
  };
}
export type EmulatedDisputes = ReturnType<typeof createEmulatedDisputes>;
