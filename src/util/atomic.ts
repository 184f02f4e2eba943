/** Atomic file writes: write a temp file in the same folder, then rename over the target. */
import fsSync, { promises as fs } from 'node:fs';
import path from 'node:path';

let counter = 0;

export function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.${counter++}.tmp`);
}

/** Words for the file-system errors a write meets. */
const WRITE_ERRORS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a parent is not a folder',
  EEXIST: 'a parent is a file, not a folder',
  EISDIR: 'is a folder',
};

/** A one-line error naming the file that could not be written and why. */
export function writeError(file: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException)?.code ?? '';
  const why = WRITE_ERRORS[code] ?? String((err as Error)?.message ?? err).split('\n')[0];
  return Object.assign(new Error(`${file}: cannot write (${why})`, { cause: err }), { code });
}

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPathFor(file);
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw writeError(file, err);
  }
}

/** The same, synchronously (module set-up that cannot await). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  const tmp = tempPathFor(file);
  try {
    fsSync.mkdirSync(path.dirname(file), { recursive: true });
    fsSync.writeFileSync(tmp, data);
    fsSync.renameSync(tmp, file);
  } catch (err) {
    fsSync.rmSync(tmp, { force: true });
    throw writeError(file, err);
  }
}

/** Our temp names: .NAME.PID.TIME.N.tmp (and .old of a folder being replaced). */
const TEMP_RE = /^\..+\.(\d+)\.\d+\.\d+\.tmp(\.old)?$/;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove temp files and folders that writeFileAtomic/writeDirAtomic left behind in `dir`
 * when a process was killed (their process is gone). Returns the paths removed.
 */
export async function removeStaleTemps(dir: string, recursive = false): Promise<string[]> {
  const removed: string[] = [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return removed;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    const m = TEMP_RE.exec(e.name);
    if (m && !alive(Number(m[1]))) {
      await fs.rm(p, { recursive: true, force: true });
      removed.push(p);
    } else if (recursive && e.isDirectory() && !e.name.startsWith('.')) {
      removed.push(...(await removeStaleTemps(p, true)));
    }
  }
  return removed;
}

/**
 * Remove every temp file of `file` (.NAME.PID.TIME.N.tmp beside it), whatever process made
 * it: for a job that owns its output (the queue's lock), a temp is an earlier attempt's,
 * left by a worker that died, perhaps on another machine. Returns the paths removed.
 */
export async function removeTempsOf(file: string): Promise<string[]> {
  const dir = path.dirname(file);
  const prefix = `.${path.basename(file)}.`;
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const mine = names.filter((n) => n.startsWith(prefix) && TEMP_RE.test(n));
  await Promise.all(mine.map((n) => fs.rm(path.join(dir, n), { force: true })));
  return mine.map((n) => path.join(dir, n));
}
