/** Small helpers the single-purpose benches share: a flag's value, the CPU's name, a median, the validation photos. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { decodeImage } from '../src/data/decode.js';
import { groupBySource, resolveFile, type MultiDataset } from '../src/data/sources.js';
import type { RgbImage } from '../src/color/yuv.js';
import { spreadPerSource } from '../src/eval/evaluate.js';

/** `--name VALUE` from the command line, else `fallback`. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
}

/** The CPU model as lscpu names it (os.cpus() often says less), for the header of a result. */
export function cpuModel(): string {
  try {
    const m = /^Model name:\s*(.*)$/m.exec(execFileSync('lscpu', { encoding: 'utf8' }));
    if (m) return m[1]!.trim();
  } catch {}
  return os.cpus()[0]?.model ?? 'unknown';
}

/** The widest x86 vector extension the CPU reports (what oneDNN and PyTorch dispatch on). */
export function cpuIsa(): string {
  let flags = new Set<string>();
  try {
    flags = new Set((/^flags\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').split(/\s+/));
  } catch {}
  const isa = flags.has('avx512f') ? 'AVX-512' : flags.has('avx2') ? 'AVX2' : flags.has('avx') ? 'AVX' : flags.has('sse4_2') ? 'SSE4.2' : 'ISA unknown';
  return flags.has('avx512_vnni') ? `${isa} VNNI` : isa;
}

/** The header line of every bench result: the machine differs from session to session. */
export function cpuLine(): string {
  return `cpu: ${cpuModel()}, ${cpuIsa()} (${os.cpus().length} logical cores; load average ${os.loadavg()[0]!.toFixed(2)} at start)`;
}

/** The middle value (upper middle for an even count). */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Validation photos by source: all of them, or at most `perSource` each, evenly spread. */
export function photosBySource(val: string[], perSource?: number): Map<string, string[]> {
  return groupBySource(perSource ? spreadPerSource(val, perSource) : val);
}

/** A photo of the data decoded, or null if it cannot be (the benches skip it, as eval reports it). */
export async function decodeOrSkip(ds: MultiDataset, file: string): Promise<RgbImage | null> {
  try {
    return await decodeImage(resolveFile(ds, file));
  } catch {
    return null;
  }
}
