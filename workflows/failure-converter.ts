/**
 * Loaded by path (data-converter.ts failureConverterPath) in clients, workers and the workflow bundle.
 * encodeCommonAttributes moves failure messages and stack traces into an encoded payload, so the
 * payload codec encrypts them too: an error message can never leak card data into history.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
