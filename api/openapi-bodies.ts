/**
 * The request bodies of the OpenAPI document (api/openapi.ts), generated from the zod schemas the
 * routes validate with; each hook adds what zod's JSON Schema output loses (patterns, min lengths).
 */
import { LoginBody, MfaBody, TokenBody } from './routes/auth';
import { CreateBankAccountBody, VerifyBody } from './routes/bank-accounts';
import { CaptureBody, CreatePaymentBody, RefundBody } from './routes/payments';
import { EvidenceBody } from './routes/disputes';
import { StartRunBody } from './routes/reconciliation';
import { TokenizeBody } from './routes/vault';
import { CreateEndpointBody, UpdateEndpointBody } from './routes/webhook-endpoints';
import { prop, requestSchema } from './openapi-schemas';

export function requestBodies() {
  return {
    token: requestSchema(TokenBody),
    login: requestSchema(LoginBody),
    mfa: requestSchema(MfaBody),
    card: requestSchema(TokenizeBody, (s) => {
      // domain/card: 12-19 digits once spaces and dashes are removed (then Luhn, not expressible);
      // the CVC is 3 digits, 4 for Amex.
      prop(s, 'number').pattern = '^(?:[ -]*[0-9]){12,19}[ -]*$';
      prop(s, 'cvc').pattern = '^[0-9]{3,4}$';
    }),
    payment: requestSchema(CreatePaymentBody),
    capture: requestSchema(CaptureBody),
    refund: requestSchema(RefundBody),
    bankAccount: requestSchema(CreateBankAccountBody, (s) => {
      // holderName pipes into min(1): the input side alone loses it.
      prop(s, 'holderName').minLength = 1;
    }),
    verify: requestSchema(VerifyBody),
    reconciliationRun: requestSchema(StartRunBody),
    endpoint: requestSchema(CreateEndpointBody, (s) => {
      prop(s, 'url').pattern = '^[Hh][Tt][Tt][Pp][Ss]?://';
    }),
    endpointUpdate: requestSchema(UpdateEndpointBody),
    evidence: requestSchema(EvidenceBody, (s) => {
      // text and file names pipe into min(1): the input side alone loses it.
      prop(s, 'text').minLength = 1;
      const file = (prop(s, 'files') as { items: Record<string, unknown> }).items;
      prop(file, 'name').minLength = 1;
      // Canonical base64 (padded), as the route's refinement checks it.
      prop(file, 'contentBase64').pattern =
        '^(?:[A-Za-z0-9+/]{4})+$|^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)$';
    }),
  };
}
