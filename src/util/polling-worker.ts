/**
 * A background loop over durable work (rows to deliver, jobs to resume): one round at a time, every
 * `pollMs`, or soon after `kick()` (new work committed here, or announced by another instance).
 * `stop()` waits for the running round. Rounds that throw are logged and the loop goes on.
 */
import type { Logger } from '../log.ts';

export class PollingWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly round: () => Promise<unknown>,
    private readonly options: { pollMs: number; log: Logger; name: string },
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Runs a round soon. */
  kick(): void {
    if (!this.stopped) this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.running) {
        this.schedule(50);
        return;
      }
      this.running = this.round()
        .then(() => undefined)
        .catch((err: unknown) => this.options.log.warn({ err }, `${this.options.name} round failed`))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule(this.options.pollMs);
        });
    }, delayMs);
    this.timer.unref();
  }
}
