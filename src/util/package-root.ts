/** The package's root folder (works from src/ under tsx and from dist/src/ when compiled). */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj) && JSON.parse(readFileSync(pj, 'utf8')).name === 'colorgan') return (root = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the colorgan package root');
    dir = up;
  }
}
