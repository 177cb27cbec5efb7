/**
 * The shapes of the Braintree SDK objects we use, which its published types describe incompletely.
 * Types only: every other braintree/ file may import them, and they import nothing.
 */

/** The failure part of an SDK result: what errors.ts classifies. */
export interface BraintreeFailedResult {
  success: boolean;
  transaction?:
    | { status?: string; processorResponseCode?: string | null; gatewayRejectionReason?: string | null }
    | undefined;
  errors?: { deepErrors(): Array<{ code?: unknown }> } | undefined;
}

/** The SDK's webhook notification parser. */
export interface WebhookParser {
  parse(signature: string, payload: string): Promise<unknown>;
}

/** The fields of an SDK Transaction we read. */
export interface BtTransaction {
  id: string;
  status: string;
  type?: string;
  amount: string;
  currencyIsoCode: string;
  orderId?: string | null;
  processorResponseCode?: string | null;
  gatewayRejectionReason?: string | null;
  refundIds?: string[] | null;
  partialSettlementTransactionIds?: string[] | null;
  authorizationExpiresAt?: string | null;
  createdAt?: string;
  statusHistory?: Array<{ status?: string; amount?: string }> | null;
}

export interface BtResult extends BraintreeFailedResult {
  success: boolean;
  transaction?: BtTransaction;
}

/** One piece of evidence on a dispute: text carries `comment`, a document carries `url`. */
export interface BtEvidence {
  id: string;
  comment?: string | null;
  url?: string | null;
  category?: string | null;
  sequenceNumber?: number | null;
  createdAt?: string | Date | null;
}

/** The fields of an SDK Dispute we read. */
export interface BtDispute {
  id: string;
  status: string;
  reason?: string | null;
  amount?: string | null;
  amountDisputed?: string | null;
  currencyIsoCode?: string | null;
  replyByDate?: string | null;
  evidence?: BtEvidence[] | null;
  transaction?: { id?: string; orderId?: string | null } | null;
}

export interface BtDisputeResult extends BraintreeFailedResult {
  dispute?: BtDispute;
  evidence?: BtEvidence;
}

export interface BtDocumentUploadResult extends BraintreeFailedResult {
  documentUpload?: { id: string; kind?: string; name?: string };
}

interface BtSearch {
  orderId(): { is(value: string): void };
}

export interface BtGateway {
  config: { timeout: number };
  transaction: {
    sale(attrs: Record<string, unknown>): Promise<BtResult>;
    find(id: string): Promise<BtTransaction>;
    submitForSettlement(id: string, amount: string): Promise<BtResult>;
    submitForPartialSettlement(
      id: string,
      amount: string,
      options: Record<string, unknown>,
    ): Promise<BtResult>;
    void(id: string): Promise<BtResult>;
    refund(id: string, options: Record<string, unknown>): Promise<BtResult>;
    search(fn: (s: BtSearch) => void): NodeJS.ReadableStream;
  };
  dispute: {
    /** Unlike transaction.find, resolves to a result whose `dispute` is the dispute. */
    find(id: string): Promise<BtDisputeResult>;
    accept(id: string): Promise<BtDisputeResult>;
    addTextEvidence(id: string, content: string): Promise<BtDisputeResult>;
    addFileEvidence(id: string, documentId: string): Promise<BtDisputeResult>;
    finalize(id: string): Promise<BtDisputeResult>;
  };
  /** `file` must be a ReadStream over a real path: the SDK reads the file by its path. */
  documentUpload: {
    create(options: { kind: string; file: NodeJS.ReadableStream }): Promise<BtDocumentUploadResult>;
  };
  webhookNotification: WebhookParser;
}
