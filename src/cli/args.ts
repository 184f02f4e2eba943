/**
 * What the subcommands share on the command line: the usage error, the flags of more than
 * one command (their schema entries, src/util/options.ts) and the folder check.
 */
import { promises as fs } from 'node:fs';
import { MAX_RENDER_SIZE, MAX_SATURATION, UPSAMPLE_METHODS } from '../infer/limits.js';

export { UsageError } from '../util/options.js';
import { UsageError } from '../util/options.js';

/** --threads: read by initBackend, not by the library call. */
export const THREADS_OPTION = {
  type: 'int',
  min: 1,
  defaultText: "all cores; the native addon's if built, else wasm's",
  help: 'compute threads',
} as const;

/** The inference options colorize and eval share. */
export const INFERENCE_OPTIONS = {
  renderSize: {
    type: 'int',
    min: 16,
    max: MAX_RENDER_SIZE,
    defaultText: 'the training size, 64',
    help: 'short side of the model grid: the photo keeps its aspect (fully convolutional models)',
  },
  upsample: {
    type: 'choice',
    choices: UPSAMPLE_METHODS,
    defaultText: "the model's choice",
    help: "chroma to full resolution: bilinear | guided, edge-aware by the photo's luma",
  },
  saturation: {
    type: 'number',
    min: 0,
    max: MAX_SATURATION,
    defaultText: "the model's own, inference.saturation in its colorgan.json, else 1",
    help: 'chroma gain: 0 = gray, 1 = as predicted',
  },
} as const;

/** A usage error unless every path is an existing folder. */
export async function requireFolders(dirs: string[]): Promise<void> {
  for (const d of dirs) {
    const st = await fs.stat(d).catch(() => null);
    if (!st) throw new UsageError(`${d}: no such folder`);
    if (!st.isDirectory()) throw new UsageError(`${d}: is not a folder`);
  }
}
