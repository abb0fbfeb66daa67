/**
 * The Express application: request ids and structured logs, security headers, metrics, the declared
 * routes, and one error path that answers every failure as problem+json.
 */
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import {
  InvalidRequestError,
  MalformedJsonError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  TrustgateError,
  UnsupportedMediaTypeError,
} from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from './metrics.ts';
import { sendProblem } from './problem.ts';
import { requestLog } from './request-log.ts';
import { allowedMethods, mountRoutes, type Route } from './routes.ts';
import { staticAssets } from './static-assets.ts';

export interface AppOptions {
  log: Logger;
  routes: Route[];
  bodyLimit: string;
  /** Express trust-proxy setting (`false`, `loopback`, CIDR list…). */
  trustProxy: string;
  production: boolean;
  metrics?: Metrics;
  /** Handlers that run before the router, with no body parser (the OpenID Connect provider). */
  before?: RequestHandler[];
}

/** Parses TRUST_PROXY: booleans, a hop count, or names/CIDRs as Express understands them. */
export function trustProxySetting(value: string): boolean | number | string[] {
  const v = value.trim();
  if (v === 'false' || v === '') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  return v.split(',').map((s) => s.trim());
}

/** Builds the app; the caller listens. */
export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', trustProxySetting(options.trustProxy));
  app.set('json replacer', (_key: string, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );

  app.use(requestLog(options.log));
  if (options.metrics) app.use(options.metrics.middleware);
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'"],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          ...(options.production ? { upgradeInsecureRequests: [] } : {}),
        },
      },
      strictTransportSecurity: options.production ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      referrerPolicy: { policy: 'no-referrer' },
    }),
  );
  const noStore: RequestHandler = (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  };
  app.use('/api', noStore);
  // Tenant APIs answer about sessions, factors and accounts: never cached.
  app.use('/t', noStore);
  app.use(staticAssets());
  for (const handler of options.before ?? []) app.use(handler);

  const router = express.Router({ strict: false, caseSensitive: true });
  mountRoutes(router, options.routes, { bodyLimit: options.bodyLimit });
  app.use(router);

  app.use((req, _res, next) => {
    const allowed = allowedMethods(options.routes, req.path);
    next(
      allowed.length > 0
        ? new MethodNotAllowedError(allowed)
        : new NotFoundError(`No route for ${req.path}.`),
    );
  });

  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    sendProblem(req, res, translateParserError(err, options.bodyLimit));
  };
  app.use(onError);
  return app;
}

/** Maps body-parser failures to their problem types. */
function translateParserError(err: unknown, limit: string): unknown {
  if (err instanceof TrustgateError) return err;
  // The router cannot decode a path parameter with broken percent-encoding (`%ZZ`).
  if (err instanceof URIError) return new InvalidRequestError('The URL has malformed percent-encoding.');
  const type = (err as { type?: unknown })?.type;
  switch (type) {
    case 'entity.parse.failed':
      return new MalformedJsonError();
    case 'entity.too.large':
      return new PayloadTooLargeError(limit);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaTypeError(['application/json; charset=utf-8']);
    case 'request.aborted':
      return new TrustgateError('request_aborted', 400, 'Request aborted', 'The client aborted the request.');
    case 'request.size.invalid':
      return new TrustgateError(
        'invalid_request',
        400,
        'Invalid request',
        'Content-Length does not match the body.',
      );
    default: {
      // Any other client error from the body parser (e.g. a body that is not the gzip it claims to be).
      const status = (err as { status?: unknown })?.status;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        return new InvalidRequestError('The request body could not be read.');
      }
      return err;
    }
  }
}
