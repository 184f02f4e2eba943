/** Atomic file writes: write a temp file in the same folder, then rename over the target. */
import { promises as fs } from 'node:fs';
import path from 'node:path';

let counter = 0;

export function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.${counter++}.tmp`);
}

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = tempPathFor(file);
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
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
