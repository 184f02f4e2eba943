/**
 * SIGINT / SIGTERM for long commands: the first signal asks the work to stop at the next
 * safe point (after the current photo or training step), so outputs and checkpoints stay
 * consistent and the summary is printed; a second one exits at once.
 */
export const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export interface StopFlag {
  /** The signal received, or null. */
  readonly signal: string | null;
  /** Remove the handlers. */
  dispose(): void;
}

export function watchSignals(what: string): StopFlag {
  let signal: string | null = null;
  const on = (sig: NodeJS.Signals) => {
    if (signal) process.exit(SIGNAL_EXIT[sig] ?? 1);
    signal = sig;
    process.stderr.write(`\n${sig}: stopping ${what} at the next safe point (again to quit at once)\n`);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    get signal() {
      return signal;
    },
    dispose() {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

/**
 * For servers (serve, worker): wait for SIGINT or SIGTERM, then `stop()` gracefully
 * (`what` says what it finishes); a second signal exits at once. Resolves with exit code 0.
 */
export async function runUntilSignal(what: string, stop: () => Promise<void>): Promise<number> {
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
  const quit = () => process.exit(SIGNAL_EXIT[signal] ?? 1);
  process.once('SIGINT', quit);
  process.once('SIGTERM', quit);
  console.error(`${signal}: finishing ${what} (again to quit at once)`);
  await stop();
  console.error('stopped');
  return 0;
}
