/** `colorgan train`: a thin shell over train(). */
import { train, TrainingInterruptedError, type TrainEvents, type TrainResult } from '../train/train.js';
import { watchSignals, SIGNAL_EXIT } from './signals.js';
import { TRAIN_SCHEMA } from '../train/options.js';
import { initBackend } from '../backend/node.js';
import { requireFolders, THREADS_OPTION } from './args.js';
import { parseCommandLine, usageText } from '../util/options.js';
import { Progress, progressCallback } from './progress.js';

/** The train options' flags (from their schema) and --threads. */
const TRAIN_FLAGS = { ...TRAIN_SCHEMA, threads: THREADS_OPTION };

export const TRAIN_USAGE = usageText('colorgan train --data DIR [--data DIR ...] --out RUN_DIR [options]', TRAIN_FLAGS);

export async function trainCommand(argv: string[]): Promise<number> {
  // Only the flags given: the defaults (or the checkpoint's values on --resume) apply in train().
  const { values, help } = parseCommandLine(TRAIN_FLAGS, argv);
  if (help) {
    console.log(TRAIN_USAGE);
    return 0;
  }
  const { threads, ...options } = values;
  await requireFolders(options.data);

  await initBackend({ verbose: true, threads });
  const result = await runWithProgress((ev) => train(options, ev));
  if (typeof result === 'number') return result;
  console.error(`done: ${result.history.length} epochs; generator in ${result.generatorDir}; samples in ${result.runDir}/samples`);
  return 0;
}

/**
 * Run a training (train or train-refine) with the progress bar, the per-epoch lines and the
 * signals: its result, or the exit code when a signal stopped it.
 */
export async function runWithProgress(run: (ev: TrainEvents) => Promise<TrainResult>): Promise<TrainResult | number> {
  let bar: Progress | null = null;
  const stop = watchSignals('training');
  try {
    return await run({
      shouldStop: () => stop.signal,
      log: (m) => console.error(m),
      skip: (file, reason) => console.error(`skipped ${file}: ${reason}`),
      dataProgress: progressCallback('decoding', 'photos'),
      epochStart: (epoch, epochs, steps, imagesPerStep) => {
        // imagesPerStep = batch × accum, so the count and the ETA are in photos either way.
        bar = new Progress({ label: `epoch ${epoch}/${epochs}`, total: steps * imagesPerStep, unit: 'img' });
        (bar as Progress & { batch?: number }).batch = imagesPerStep;
      },
      step: (step, _steps, l) => {
        const b = bar as (Progress & { batch?: number }) | null;
        b?.update(step * (b.batch ?? 1), `G ${l.gAdv.toFixed(3)} L1 ${l.l1.toFixed(4)} D ${l.d.toFixed(3)}`);
      },
      epochEnd: (r) => {
        (bar as Progress | null)?.finish();
        bar = null;
        console.error(
          `epoch ${r.epoch}: G ${r.gAdv.toFixed(3)}  L1 ${r.l1.toFixed(4)}  D ${r.d.toFixed(3)}${r.div !== undefined ? `  div ${r.div.toFixed(4)}` : ''}${r.fm !== undefined ? `  FM ${r.fm.toFixed(4)}` : ''}  val L1 ${r.valL1.toFixed(4)}${r.valMse !== undefined ? `  val MSE ${r.valMse.toFixed(5)}` : ''}${r.valPsnr !== undefined ? `  val PSNR ${r.valPsnr.toFixed(2)} dB` : ''}  ${r.seconds}s  ${r.imagesPerSecond} img/s`,
        );
        const bySource = (what: string, rec: Record<string, number> | undefined, digits: number) => {
          if (rec)
            console.error(
              `  val ${what} by source: ${Object.entries(rec)
                .map(([k, x]) => `${k} ${x.toFixed(digits)}`)
                .join(', ')}`,
            );
        };
        bySource('L1', r.valL1BySource, 4);
        bySource('MSE', r.valMseBySource, 5);
        bySource('PSNR', r.valPsnrBySource, 2);
      },
    });
  } catch (err) {
    // End a half-drawn progress line so the error (e.g. out of memory) gets its own line.
    (bar as Progress | null)?.finish();
    if (err instanceof TrainingInterruptedError) {
      console.error(err.message);
      return SIGNAL_EXIT[err.signal] ?? 1;
    }
    throw err;
  } finally {
    stop.dispose();
  }
}
