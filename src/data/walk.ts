/** Recursive listing of the image files of a folder. */
import { promises as fs } from 'node:fs';
import type { Dirent } from 'node:fs';
import path from 'node:path';
import { isImageFile } from './decode.js';

/** Locale-independent string order (UTF-16 code units), the same on every machine. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * All image files under `dir` (see IMAGE_EXTENSIONS), recursively, as sorted relative POSIX
 * paths ("b/c/x.jpg"). Dotfiles and dot-folders are skipped. Symbolic links to files are
 * listed; symbolic links to folders are followed once (cycles are ignored).
 */
export async function listImages(dir: string): Promise<string[]> {
  let st;
  try {
    st = await fs.stat(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new Error(`${dir}: no such folder`);
    throw new Error(`${dir}: ${(err as Error).message}`);
  }
  if (!st.isDirectory()) throw new Error(`${dir}: is not a folder`);

  const out: string[] = [];
  const seen = new Set<string>([await fs.realpath(dir)]);
  async function walk(abs: string, rel: string): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(abs, { withFileTypes: true });
    } catch (err) {
      throw new Error(`${path.join(dir, rel)}: cannot read folder (${(err as Error).message})`);
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const childAbs = path.join(abs, e.name);
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const target = await fs.stat(childAbs).catch(() => null); // dangling links are ignored
        if (!target) continue;
        isDir = target.isDirectory();
        isFile = target.isFile();
      }
      if (isDir) {
        const real = await fs.realpath(childAbs);
        if (seen.has(real)) continue;
        seen.add(real);
        await walk(childAbs, childRel);
      } else if (isFile && isImageFile(e.name)) {
        out.push(childRel);
      }
    }
  }
  await walk(dir, '');
  return out.sort(compareCodeUnits);
}
