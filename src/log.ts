/**
 * Structured JSON logs (pino). Secrets never reach a log line: credentials in headers, cookies and any
 * field whose name says it is secret are redacted here, once, for every logger derived from this one.
 */
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** Paths pino censors wherever they appear (request headers, bodies, error context). */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'req.headers["x-api-key"]',
  'req.headers.dpop',
  'res.headers["set-cookie"]',
  '*.password',
  '*.secret',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.idToken',
  '*.privateKey',
  '*.masterKey',
  '*.otp',
  '*.recoveryCode',
  '*.envelope',
];

/** Creates the root logger. `destination` is for tests that read log lines. */
export function createLogger(
  options: { level?: string; name?: string } = {},
  destination?: pino.DestinationStream,
): Logger {
  return pino(
    {
      name: options.name ?? 'trustgate',
      level: options.level ?? 'info',
      redact: { paths: redactPaths, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
