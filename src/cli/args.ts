/**
 * What the subcommands share on the command line: the usage error, the flags of more than
 * one command (their schema entries, src/util/options.ts) and the folder check.
 */
import { promises as fs } from 'node:fs';

export { UsageError } from '../util/options.js';
import { UsageError } from '../util/options.js';

/** --threads: read by initBackend, not by the library call. */
export const THREADS_OPTION = {
  type: 'int',
  min: 1,
  defaultText: "all cores; the native addon's if built, else wasm's",
  help: 'compute threads',
} as const;

/** The inference options colorize and eval share (defined with the service's, in src/infer/options.ts). */
export { INFERENCE_OPTIONS, MODEL_OPTION } from '../infer/options.js';

/** A usage error unless every path is an existing folder. */
export async function requireFolders(dirs: string[]): Promise<void> {
  for (const d of dirs) {
    const st = await fs.stat(d).catch(() => null);
    if (!st) throw new UsageError(`${d}: no such folder`);
    if (!st.isDirectory()) throw new UsageError(`${d}: is not a folder`);
  }
}
