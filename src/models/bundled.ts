/** The models that ship with the package (folders under models/): one place for their names and folders. */
import path from 'node:path';
import { packageRoot } from '../util/package-root.js';

export const BUNDLED_MODELS = ['general', 'sky'] as const;
export type BundledModelName = (typeof BUNDLED_MODELS)[number];
/** The default everywhere (CLI, library, eval, web app); `sky` is the paper's model. */
export const DEFAULT_MODEL: BundledModelName = 'general';

/** Folder of a bundled model (default: the general one). */
export function bundledModelDir(name: BundledModelName = DEFAULT_MODEL): string {
  if (!BUNDLED_MODELS.includes(name)) throw new RangeError(`unknown bundled model "${String(name)}" (expected ${BUNDLED_MODELS.join(' or ')})`);
  return path.join(packageRoot(), 'models', name);
}

/** A model argument (`--model`, loadModel's): a bundled model's name, else a folder. */
export function modelDirOf(nameOrDir: string): string {
  return (BUNDLED_MODELS as readonly string[]).includes(nameOrDir) ? bundledModelDir(nameOrDir as BundledModelName) : nameOrDir;
}
