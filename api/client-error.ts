/**
 * Requests Node's own HTTP parser refuses before Express sees them (a DEL or other control byte in
 * a header, an unknown method, a malformed request line, an Expect it cannot meet) still get the
 * contract's error shape and a Request-Id, on every server the project creates (api/server.ts, the
 * codec server).
 */
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { newRequestId } from './middleware/common';

const STATUS: Readonly<Record<string, [number, string, string]>> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'The request headers are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'The request took too long to arrive'],
};
const MALFORMED: [number, string, string] = [400, 'Bad Request', 'The request is not valid HTTP/1.1'];

export function malformedRequestResponse(code: string | undefined): string {
  const [status, reason, message] = (code && STATUS[code]) || MALFORMED;
  const requestId = newRequestId();
  // Every one of these is the client's doing (a slow or malformed request): `internal` is for 5xx.
  const body = JSON.stringify({
    error: { type: 'invalid_request', code: 'malformed_request', message, requestId },
  });
  return [
    `HTTP/1.1 ${status} ${reason}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `Request-Id: ${requestId}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

export function answerClientErrors(server: HttpServer | HttpsServer): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // A reset or a half-written response: nothing can be answered on this socket any more.
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(malformedRequestResponse(err.code));
  });
  // Without a listener Node answers any Expect but 100-continue with a bare 417.
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    const requestId = newRequestId();
    const body = JSON.stringify({
      error: {
        type: 'invalid_request',
        code: 'expectation_failed',
        message: 'Only Expect: 100-continue is supported',
        requestId,
      },
    });
    res.writeHead(417, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'Request-Id': requestId,
      Connection: 'close',
    });
    res.end(body);
  });
}
