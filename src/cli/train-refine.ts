/** `colorgan train-refine`: a thin shell over trainRefine() (a LAPGAN refinement stage on a frozen base model). */
import { trainRefine, MODEL_DIR } from '../train/refine.js';
import { REFINE_SCHEMA } from '../train/refine-options.js';
import { initBackend } from '../backend/node.js';
import { requireFolders, THREADS_OPTION } from './args.js';
import { parseCommandLine, usageText } from '../util/options.js';
import { runWithProgress } from './train.js';

const REFINE_FLAGS = { ...REFINE_SCHEMA, threads: THREADS_OPTION };

export const TRAIN_REFINE_USAGE = usageText(
  'colorgan train-refine --data DIR [--data DIR ...] --out RUN_DIR [--base MODEL] [--scales 2|4] [options]',
  REFINE_FLAGS,
);

export async function trainRefineCommand(argv: string[]): Promise<number> {
  const { values, help } = parseCommandLine(REFINE_FLAGS, argv);
  if (help) {
    console.log(TRAIN_REFINE_USAGE);
    return 0;
  }
  const { threads, ...options } = values;
  await requireFolders(options.data);
  await initBackend({ verbose: true, threads });
  const result = await runWithProgress((ev) => trainRefine(options, ev));
  if (typeof result === 'number') return result;
  console.error(
    `done: ${result.history.length} epochs; the stage in ${result.generatorDir} (best: generator-best/); the base model with it in ${result.runDir}/${MODEL_DIR} (--model ${result.runDir}/${MODEL_DIR})`,
  );
  return 0;
}
