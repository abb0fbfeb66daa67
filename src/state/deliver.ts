/** Receives failures that have no caller to reject: throwing handlers and background connection errors. */
export type StateErrorReporter = (error: unknown, context: string) => void;

/** Default reporter until the service passes its logger; never includes message payloads. */
export const reportToConsole: StateErrorReporter = (error, context) => {
  const detail = error instanceof Error ? error.message : String(error);
  console.error(`[trustgate state] ${context}: ${detail}`);
};

/**
 * Calls each handler with the message. A throwing or rejecting handler is reported and skipped, so one
 * faulty subscriber can neither starve the others nor tear down the subscription connection.
 */
export function deliver(
  handlers: Iterable<(message: string) => void>,
  channel: string,
  message: string,
  onError: StateErrorReporter,
): void {
  for (const handler of handlers) {
    try {
      const result: unknown = handler(message);
      if (isThenable(result)) {
        result.then(undefined, (error: unknown) => onError(error, `subscriber of ${channel} rejected`));
      }
    } catch (error) {
      onError(error, `subscriber of ${channel} threw`);
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}
