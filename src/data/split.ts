/** The paper's train/validation split (70% / 30%), reproducible from a seed. */
import { shuffledIndices } from '../util/rng.js';
import { compareCodeUnits } from './walk.js';

/**
 * Deterministic split of a file list: the unique names are sorted (code-unit order, so the
 * input order does not matter), shuffled with `seed`, and the first round(n·(1−valFraction))
 * go to `train`, the rest to `val`. Both outputs are returned sorted.
 */
export function splitTrainVal(files: string[], seed: number, valFraction = 0.3): { train: string[]; val: string[] } {
  if (!(valFraction >= 0 && valFraction <= 1)) throw new RangeError(`valFraction must be in [0, 1], got ${valFraction}`);
  const sorted = [...new Set(files)].sort(compareCodeUnits);
  const order = shuffledIndices(sorted.length, seed);
  const nTrain = Math.round(sorted.length * (1 - valFraction));
  const train = order
    .slice(0, nTrain)
    .map((i) => sorted[i])
    .sort(compareCodeUnits);
  const val = order
    .slice(nTrain)
    .map((i) => sorted[i])
    .sort(compareCodeUnits);
  return { train, val };
}
