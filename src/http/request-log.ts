/**
 * Request ids and one structured log line per request. Every response carries `X-Request-Id` (the
 * caller's, when well-formed, else a new UUID); `req.log` is a child logger bound to that id, created
 * only when something logs; the completion line carries method, path (never the query string: it can
 * hold codes and tokens), status and time.
 *
 * This replaces pino-http, which built a child logger and serialised the request on every request
 * whatever the level: it cost about half of the throughput of a trivial endpoint (bench/foundation).
 */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../log.ts';

declare module 'node:http' {
  interface IncomingMessage {
    /** The request id (also in `X-Request-Id`). */
    id?: string;
    /** Logger bound to the request id. */
    log?: Logger;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', id);
    req.id = id;
    let child: Logger | undefined;
    Object.defineProperty(req, 'log', {
      configurable: true,
      enumerable: false,
      get: () => {
        child ??= log.child({ reqId: id });
        return child;
      },
    });
    const started = performance.now();
    res.once('finish', () => {
      const level = res.statusCode >= 500 ? 'error' : 'info';
      if (!log.isLevelEnabled(level)) return;
      log[level](
        {
          reqId: id,
          req: { method: req.method, path: req.originalUrl.split('?')[0] },
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - started),
        },
        'request completed',
      );
    });
    next();
  };
}
