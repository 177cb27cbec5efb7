// Rule test (semgrep --test): positives carry `ruleid`, negatives `ok`.
export function examples(log: any, logger: any, req: any, card: any, input: any) {
  // ruleid: settle-no-log-request-body-or-card
  logger.info(req.body);
  // ruleid: settle-no-log-request-body-or-card
  log.warn({ requestId: req.requestId, payload: req.body }, 'bad request');
  // ruleid: settle-no-log-request-body-or-card
  log.info({ card }, 'tokenized');
  // ruleid: settle-no-log-request-body-or-card
  log.error({ card: input.card }, 'authorize failed');
  // ruleid: settle-no-log-request-body-or-card
  console.log(input.card);
  // ruleid: settle-no-log-request-body-or-card
  log.debug({ body: req.body });

  // ok: settle-no-log-request-body-or-card
  log.info({ requestId: req.requestId, brand: card.brand, last4: card.last4 }, 'tokenized');
  // ok: settle-no-log-request-body-or-card
  logger.warn({ code: 'invalid', requestId: req.requestId }, 'request failed');
  // ok: settle-no-log-request-body-or-card
  log.info('card tokenized');
}
