/** `npm start`: loads the configuration, starts Trustgate, prints where to open it, stops on signals. */
import { loadConfig } from './config.ts';
import { ConfigError, StartupError } from './errors.ts';
import { createLogger } from './log.ts';
import { startService } from './service.ts';
import { ensureWebBuild } from './web/app-build.ts';

async function main(): Promise<void> {
  const started = performance.now();
  const config = loadConfig();
  const log = createLogger({ level: config.LOG_LEVEL });
  // Normally built by `npm install`; built here on first start or after the sources changed.
  await ensureWebBuild((line) => log.info(line));
  const service = await startService(config, { log });
  const ms = Math.round(performance.now() - started);
  log.info({ url: service.url, publicUrl: config.PUBLIC_URL, ms }, 'Trustgate is ready');
  process.stdout.write(
    `\n  Trustgate is ready in ${ms} ms: open ${config.PUBLIC_URL}\n` +
      `  Sign up ${config.PUBLIC_URL}/t/default/sign-up · sign in ${config.PUBLIC_URL}/t/default/sign-in\n` +
      `  Your account ${config.PUBLIC_URL}/t/default/account · admin console ${config.PUBLIC_URL}/t/default/admin\n` +
      `  API docs ${config.PUBLIC_URL}/docs · readiness ${config.PUBLIC_URL}/readyz · chain ${service.chain.rpcUrl || '(external)'} (${service.chain.mode}, id ${service.chain.chainId})\n\n`,
  );

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    log.info({ signal }, 'signal received');
    service.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof StartupError) {
    process.stderr.write(`\nTrustgate cannot start: ${err.message}\n\n`);
  } else {
    process.stderr.write(`\nTrustgate failed to start: ${(err as Error)?.stack ?? String(err)}\n\n`);
  }
  process.exit(1);
});
