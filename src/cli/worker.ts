/**
 * `colorgan worker`: run the queue's colorize jobs (src/queue/worker.ts) until SIGINT or
 * SIGTERM, which finish the jobs in progress and stop; a second signal exits at once (the
 * jobs it held go back to the queue when their locks expire). One line per job on stdout.
 */
import { parseCommandLine, usageText } from '../util/options.js';
import { WORKER_SCHEMA } from '../queue/options.js';
import { runUntilSignal } from './signals.js';

const USAGE = `${usageText(
  `Usage: colorgan worker [--redis URL] [--name Q] [--concurrency N] [options]

Colorize the jobs of a queue (colorgan queue add) on this machine; run one on every machine
that sees the same input and output storage.`,
  WORKER_SCHEMA,
)}`;

export async function workerCommand(argv: string[]): Promise<number> {
  const { values, help } = parseCommandLine(WORKER_SCHEMA, argv);
  if (help) {
    console.log(USAGE);
    return 0;
  }
  const { startQueueWorker } = await import('../queue/worker.js');
  const worker = await startQueueWorker(values, {
    started: (job) => console.log(`start ${job.id} ${job.data.input}`),
    completed: (job, r) =>
      console.log(r.written ? `done ${job.id} ${job.data.input} (${r.plan}, ${r.seconds?.toFixed(2)} s)` : `skip ${job.id} ${job.data.input} (outputs exist)`),
    failed: (job, reason, final) => console.log(`${final ? 'failed' : 'retry'} ${job.id} ${job.data.input}: ${reason}`),
  });
  console.log(`colorgan worker: queue ${values.name ?? WORKER_SCHEMA.name.default} at ${values.redis ?? WORKER_SCHEMA.redis.default} (${worker.backend})`);
  return runUntilSignal('the jobs in progress', () => worker.close());
}
