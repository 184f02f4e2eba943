/** `colorgan train`: a thin shell over train(). */
import { train, TrainingInterruptedError } from '../train/train.js';
import { watchSignals, SIGNAL_EXIT } from './signals.js';
import { DEFAULT_TRAIN_OPTIONS as D } from '../train/options.js';
import { initBackend } from '../backend/node.js';
import { parse, intFlag, numFlag, requireFolders, UsageError } from './args.js';
import { Progress, progressCallback } from './progress.js';
import { ARCHITECTURES, type Architecture } from '../models/config.js';

export const TRAIN_USAGE = `colorgan train --data DIR [--data DIR ...] --out RUN_DIR [options]

  --data DIR        folder of color photos (searched recursively); repeat for several.
                    Each first-level sub-folder is a source: split 70/30 per source and
                    sampled balanced by source
  --out RUN_DIR     run folder: checkpoints, samples/, losses.jsonl, loss-curve.png, generator/
  --model NAME      baseline | advanced (the paper's) | unet (ours, general scenes) (default ${D.model})
  --epochs N        total epochs (default ${D.epochs})
  --l1 λ            weight of the image-space L1 term; 0 = pure GAN (default ${D.l1})
  --l2 μ            weight of an image-space L2 (squared error) term (default ${D.l2})
  --batch N         batch size: photos in memory at once (default ${D.batch})
  --accum N         gradient accumulation: each optimizer step averages the gradients of
                    N batches, so the effective batch is batch × N at the memory of one
                    batch (default ${D.accum}); for batches too large for the 4 GB wasm heap
  --size N          model size in pixels (default ${D.size})
  --seed N          seed of the split, initialization, order and noise (default ${D.seed})
  --lr X            Adam learning rate (default ${D.lr}); --beta1 X (default ${D.beta1})
  --ngf N, --ndf N  generator / discriminator widths (default ${D.ngf} / ${D.ndf})
  --diversity μ     mode-seeking term so different z give different colors (default ${D.diversity})
  --feature-match φ feature-matching loss on D's hidden layers (default ${D.featureMatch})
  --exclude SOURCE  leave a source out, e.g. scenes/urban (repeatable; generalization check)
  --epoch-images N  photos per epoch, drawn balanced by source (default: all training photos)
  --no-global       unet without its global-context branch (an ablation)
  --no-flip         no left-right mirroring of training crops (default: mirror half)
  --init DIR        start the generator from a saved generator folder (e.g. models/sky)
  --limit N         use at most N training photos (quick experiments)
  --resume          continue from the run's last complete checkpoint
  --threads N       compute threads (default: all cores; the native addon's if built, else wasm's)`;

export async function trainCommand(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, {
    data: { type: 'string', multiple: true }, 'feature-match': { type: 'string' }, 'epoch-images': { type: 'string' }, 'no-flip': { type: 'boolean' }, 'no-global': { type: 'boolean' }, exclude: { type: 'string', multiple: true }, out: { type: 'string' }, model: { type: 'string' }, epochs: { type: 'string' },
    l1: { type: 'string' }, l2: { type: 'string' }, batch: { type: 'string' }, accum: { type: 'string' }, size: { type: 'string' }, seed: { type: 'string' },
    lr: { type: 'string' }, beta1: { type: 'string' }, ngf: { type: 'string' }, ndf: { type: 'string' },
    diversity: { type: 'string' }, limit: { type: 'string' }, init: { type: 'string' }, resume: { type: 'boolean' }, threads: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help) {
    console.log(TRAIN_USAGE);
    return 0;
  }
  if (!v.data || v.data.length === 0) throw new UsageError('missing --data DIR (a folder of color photos)');
  if (!v.out) throw new UsageError('missing --out RUN_DIR (where checkpoints and samples go)');
  const model = v.model ?? D.model;
  if (!(ARCHITECTURES as readonly string[]).includes(model)) throw new UsageError(`unknown model "${model}" (expected ${ARCHITECTURES.join(', ')})`);
  await requireFolders(v.data);
  const size = intFlag(v.size, 'size', D.size, 16);
  if (size % 8 !== 0) throw new UsageError(`--size must be a multiple of 8, got ${size}`);

  const opts = {
    data: v.data.length === 1 ? v.data[0] : v.data,
    out: v.out,
    model: model as Architecture,
    epochs: v.epochs === undefined ? undefined : intFlag(v.epochs, 'epochs', D.epochs, 1),
    l1: v.l1 === undefined ? undefined : numFlag(v.l1, 'l1', D.l1),
    l2: v.l2 === undefined ? undefined : numFlag(v.l2, 'l2', D.l2),
    batch: v.batch === undefined ? undefined : intFlag(v.batch, 'batch', D.batch, 2),
    accum: v.accum === undefined ? undefined : intFlag(v.accum, 'accum', D.accum, 1),
    size,
    seed: intFlag(v.seed, 'seed', D.seed),
    lr: v.lr === undefined ? undefined : numFlag(v.lr, 'lr', D.lr),
    beta1: v.beta1 === undefined ? undefined : numFlag(v.beta1, 'beta1', D.beta1),
    ngf: intFlag(v.ngf, 'ngf', D.ngf, 1),
    ndf: intFlag(v.ndf, 'ndf', D.ndf, 1),
    diversity: v.diversity === undefined ? undefined : numFlag(v.diversity, 'diversity', D.diversity),
    featureMatch: v['feature-match'] === undefined ? undefined : numFlag(v['feature-match'], 'feature-match', D.featureMatch),
    epochImages: v['epoch-images'] === undefined ? undefined : intFlag(v['epoch-images'], 'epoch-images', 0, 1),
    flip: v['no-flip'] ? false : undefined,
    globalContext: v['no-global'] ? false : undefined,
    exclude: v.exclude,
    limit: v.limit === undefined ? undefined : intFlag(v.limit, 'limit', 0, 1),
    resume: Boolean(v.resume),
    init: v.init,
  };
  // Drop undefined so defaults (or the checkpoint's values on --resume) apply.
  const clean = Object.fromEntries(Object.entries(opts).filter(([, x]) => x !== undefined)) as typeof opts & { data: string | string[]; out: string };

  await initBackend({ verbose: true, threads: v.threads === undefined ? undefined : intFlag(v.threads, 'threads', 1, 1) });
  let bar: Progress | null = null;
  let result: Awaited<ReturnType<typeof train>>;
  const stop = watchSignals('training');
  try {
    result = await train(clean, {
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
          `epoch ${r.epoch}: G ${r.gAdv.toFixed(3)}  L1 ${r.l1.toFixed(4)}  D ${r.d.toFixed(3)}${r.div !== undefined ? `  div ${r.div.toFixed(4)}` : ''}${r.fm !== undefined ? `  FM ${r.fm.toFixed(4)}` : ''}  val L1 ${r.valL1.toFixed(4)}${r.valMse !== undefined ? `  val MSE ${r.valMse.toFixed(5)}` : ''}  ${r.seconds}s  ${r.imagesPerSecond} img/s`,
        );
        if (r.valL1BySource) console.error(`  val L1 by source: ${Object.entries(r.valL1BySource).map(([k, x]) => `${k} ${x.toFixed(4)}`).join(', ')}`);
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
  console.error(`done: ${result.history.length} epochs; generator in ${result.generatorDir}; samples in ${result.runDir}/samples`);
  return 0;
}
