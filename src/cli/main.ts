/** The colorgan command line: subcommands are thin shells over the library. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from './args.js';
import { packageRoot } from '../util/package-root.js';
import { closestWord } from '../util/text.js';

const COMMANDS = ['colorize', 'train', 'train-refine', 'eval', 'web', 'serve', 'queue', 'worker'] as const;

/** The version in the package's package.json. */
export function packageVersion(): string {
  return JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version;
}

export const USAGE = `colorgan — colorize grayscale photos with a conditional GAN (DCGAN)

Usage:
  colorgan colorize INPUT... --out DIR [options]   colorize photos or folders (bundled general model by default)
  colorgan train --data DIR --out RUN_DIR [options] train a generator
  colorgan train-refine --data DIR --out RUN_DIR   train a LAPGAN refinement stage (×2) on a frozen base model
  colorgan eval --data DIR --out REPORT_DIR [options] measure quality against baselines
  colorgan web [--port N]                          serve the in-browser app
  colorgan serve [--port P] [options]              an HTTP API: POST /v1/colorize, /healthz, /metrics
  colorgan queue add INPUT... --out DIR [options]  enqueue photos on Redis (also: queue status|failed|retry)
  colorgan worker [--redis URL] [options]          colorize queued photos (one per machine)
  colorgan --version                               print the version

Run "colorgan COMMAND --help" for the options of a command.`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'train':
        return await (await import('./train.js')).trainCommand(rest);
      case 'train-refine':
        return await (await import('./train-refine.js')).trainRefineCommand(rest);
      case 'colorize':
        return await (await import('./colorize.js')).colorizeCommand(rest);
      case 'eval':
        return await (await import('./eval.js')).evalCommand(rest);
      case 'web':
        return await (await import('./web.js')).webCommand(rest);
      case 'serve':
        return await (await import('./serve.js')).serveCommand(rest);
      case 'queue':
        return await (await import('./queue.js')).queueCommand(rest);
      case 'worker':
        return await (await import('./worker.js')).workerCommand(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return cmd === undefined ? 2 : 0;
      case '--version':
      case '-V':
        console.log(packageVersion());
        return 0;
      default: {
        const near = closestWord(cmd, COMMANDS);
        throw new UsageError(`unknown command "${cmd}"${near ? `; did you mean "${near}"?` : ''}\n\n${USAGE}`);
      }
    }
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`colorgan ${cmd ?? ''}: ${err.message}`.replace(/\s+:/, ':'));
      return 2;
    }
    console.error(`colorgan ${cmd}: ${(err as Error).message}`);
    if (process.env.COLORGAN_DEBUG) console.error((err as Error).stack);
    return 1;
  }
}
