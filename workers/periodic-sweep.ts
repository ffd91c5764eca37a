import type { Logger } from 'pino';

export interface PeriodicSweep {
  /** Runs the sweep now (skipped while one is still running); never rejects. */
  sweep(): Promise<void>;
  /** Stops the timer; a sweep in hand finishes on its own. */
  stop(): void;
}

/**
 * Runs `run` every `everyMs` in this process, one at a time, without keeping the process alive. A
 * failure is logged as "<name> sweep failed; will try again" and the next tick tries again: the
 * workers' sweeps re-enqueue work whose job never reached the queue, so they must outlive an outage.
 */
export function startPeriodicSweep(logger: Pick<Logger, 'warn'>, name: string, everyMs: number, run: () => Promise<unknown>): PeriodicSweep {
  let sweeping = false;
  const sweep = async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      await run();
    } catch (err) {
      logger.warn({ err: (err as Error).message }, `${name} sweep failed; will try again`);
    } finally {
      sweeping = false;
    }
  };
  const timer = setInterval(sweep, everyMs);
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}
