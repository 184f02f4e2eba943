/** Recursive listing of the image files of a folder. */
import { promises as fs } from 'node:fs';
import type { Dirent } from 'node:fs';
import path from 'node:path';
import { isImageFile } from './decode.js';

/** Locale-independent string order (UTF-16 code units), the same on every machine. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface ListOptions {
  /** Folders (absolute or relative to the cwd) never walked into, e.g. the output folder. */
  exclude?: string[];
  /**
   * Called for a sub-folder that cannot be read (the walk goes on without it). Without
   * it, such a folder is an error. The top folder itself is always an error.
   */
  onUnreadable?: (folder: string, reason: string) => void;
}

/**
 * All image files under `dir` (see IMAGE_EXTENSIONS), recursively, as sorted relative POSIX
 * paths ("b/c/x.jpg"). Dotfiles and dot-folders are skipped. Symbolic links to files are
 * listed; symbolic links to folders are followed once (cycles are ignored).
 */
function isSpecial(e: Dirent): boolean {
  return e.isFIFO() || e.isCharacterDevice() || e.isBlockDevice() || e.isSocket() || e.isSymbolicLink();
}

export async function listImages(dir: string, opts: ListOptions = {}): Promise<string[]> {
  let st: Awaited<ReturnType<typeof fs.stat>>;
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
  const excluded = new Set(await Promise.all((opts.exclude ?? []).map((d) => fs.realpath(d).catch(() => path.resolve(d)))));
  async function walk(abs: string, rel: string): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(abs, { withFileTypes: true });
    } catch (err) {
      const reason = `cannot read folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
      if (rel === '' || !opts.onUnreadable) throw new Error(`${path.join(dir, rel)}: ${reason}`);
      opts.onUnreadable(path.join(dir, rel), reason);
      return;
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
        if (seen.has(real) || excluded.has(real)) continue;
        seen.add(real);
        await walk(childAbs, childRel);
      } else if (isImageFile(e.name) && (isFile || isSpecial(e))) {
        // FIFOs, devices and sockets with an image name are listed too, so that the
        // reader refuses them with a reason instead of their vanishing silently.
        out.push(childRel);
      }
    }
  }
  await walk(dir, '');
  return out.sort(compareCodeUnits);
}
